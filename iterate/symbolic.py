"""The symbolic conjecturer (for CPU): new statements from the statements proved so far in the run.

Two families of operators, applied to each seed (a statement the run proved):

- mutation (data_synth.mutation: Alchemy's rewrite and apply rules), asked of
  Coq on the seed itself, not only on library parents. A seed that is not a
  library constant (a mutant, an earlier conjecture) is defined with its
  verified proof at the end of its header, so the rules can open it by name;
- generalising operators on the seed's statement: a numeral becomes a
  universally quantified variable, a hypothesis is dropped, a numeral is
  changed, an implication becomes its converse.

Nothing here decides that a conjecture is true or even well-formed: each one
is then elaborated in its seed's environment, keyed and de-duplicated
(iterate.conjecturing), proved by the prover, and selected as STP does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from proofsmith.data_synth import conjecture as cj
from proofsmith.iterate.config import IterateConfig
from proofsmith.iterate.pools import RunInputs
from proofsmith.iterate.records import GeneratedConjecture

GENERALISING_OPERATORS = ("numeral-to-variable", "drop-hypothesis", "change-numeral", "converse")
_FORALL = re.compile(r"\s*forall\s+([^,]*?),\s*")
_NUMERAL = re.compile(r"(?<![\w'.%])(\d+)(?![\w'.])")
_OPEN, _CLOSE = "([{", ")]}"


def split_top_level_arrows(text: str) -> list[str]:
    """`A -> B -> C` at parenthesis depth 0 as [A, B, C] (`<->` is not an arrow; a binder ends the split)."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif depth == 0 and text.startswith("->", i) and (i == 0 or text[i - 1] != "<"):
            parts.append(text[start:i].strip())
            start = i + 2
            i += 1
        elif depth == 0 and re.match(r"(?:forall|exists|fun)\b", text[i:]) and (i == 0 or not text[i - 1].isalnum()):
            break  # a binder scopes over the rest: its arrows are not this level's
        i += 1
    parts.append(text[start:].strip())
    return parts


def _binders(body: str) -> tuple[str, str]:
    """The leading `forall ...,` binders of a statement and the rest."""
    prefix, rest = "", body
    while (m := _FORALL.match(rest)) is not None:
        prefix += f"forall {m.group(1)}, "
        rest = rest[m.end():]
    return prefix, rest.strip()


def _fresh(body: str, base: str = "c") -> str:
    words = set(re.findall(r"[\w']+", body))
    name, n = base, 0
    while name in words:
        n += 1
        name = f"{base}{n}"
    return name


def generalisations(body: str, limit: int = 8) -> list[tuple[str, str]]:
    """(operator, new statement body) for the generalising operators on `body`, distinct, at most `limit`."""
    prefix, rest = _binders(body)
    out: list[tuple[str, str]] = []
    parts = split_top_level_arrows(rest)
    tail_is_plain = len(parts) >= 2 and all(parts)
    if tail_is_plain:
        for i in range(len(parts) - 1):
            kept = parts[:i] + parts[i + 1:]
            out.append(("drop-hypothesis", prefix + " -> ".join(kept)))
        if len(parts) == 2:
            out.append(("converse", f"{prefix}{parts[1]} -> {parts[0]}"))
    seen_numerals = set()
    for m in _NUMERAL.finditer(rest):
        if m.group(1) in seen_numerals or len(seen_numerals) >= 2:
            continue
        seen_numerals.add(m.group(1))
        var = _fresh(body)
        general = rest[:m.start()] + var + rest[m.end():]
        out.append(("numeral-to-variable", f"forall {var}, {prefix}{general}"))
        changed = str(int(m.group(1)) + 1)
        out.append(("change-numeral", prefix + rest[:m.start()] + changed + rest[m.end():]))
    distinct, seen = [], {" ".join(body.split())}
    for op, text in out:
        key = " ".join(text.split())
        if key not in seen:
            seen.add(key)
            distinct.append((op, text))
    return distinct[:limit]


def _parent(inputs: RunInputs, seed: cj.Seed):
    """The seed as a mutation parent: its library theorem, or itself defined with its proof after its header."""
    from proofsmith.data_synth.mutation import LibraryTheorem

    for parent in inputs.library.parents:
        if parent.full_name == seed.name:
            return parent, inputs.library.corpus.accessible_mask(parent.path, parent.start)
    origin = None
    if seed.name in inputs.pools.mutant_records:
        origin = inputs.pools.mutant_records[seed.name].parent
    library = next((p for p in inputs.library.parents if p.full_name == origin), None)
    header = f"{seed.header.rstrip()}\n{seed.statement}\nProof.\n{seed.proof.strip()}\nQed.\n"
    short = seed.name.rsplit(".", 1)[-1]
    if library is None:
        return LibraryTheorem(short, "", (0, 0), (0, 0), header), None
    return (LibraryTheorem(short, library.path, library.start, library.end, header),
            inputs.library.corpus.accessible_mask(library.path, library.start))


def generate_symbolic(config: IterateConfig, inputs: RunInputs, chosen: Sequence[cj.ConjectureInput],
                      r: int) -> list[GeneratedConjecture]:
    """Symbolic conjectures of the seeds of `chosen` (each seed once): mutations and generalisations."""
    from proofsmith.checker.registry import open_checker
    from proofsmith.data_synth.mutation import MutationSettings, Mutator
    from proofsmith.iterate.conjecturing import generated

    c = config.conjecturer
    seeds: dict[str, cj.Seed] = {}
    for inp in chosen:
        seeds.setdefault(inp.seed.name, inp.seed)
    rows: list[GeneratedConjecture] = []
    checker = open_checker("coq", inputs.checker_settings)
    try:
        with checker.session() as session:
            mutator = Mutator(session, inputs.library.index, MutationSettings(
                max_attempts=c.mutation_attempts, tactic_timeout_s=1.0, check_timeout_s=c.elaborate_timeout_s))
            for idx, seed in enumerate(seeds.values()):
                found: list[tuple[str, str, cj.Lemma | None, str]] = []  # raw, body, lemma, header
                if c.mutation_attempts and "mutation" in c.operators:
                    parent, accessible = _parent(inputs, seed)
                    outcome = mutator.mutate(parent, accessible)
                    for m in outcome.mutants:
                        lemma = cj.Lemma(m.premise, inputs.lemma_index.by_full.get(m.premise, "")) if m.premise else None
                        found.append((f"mutation {m.rule} {m.discovery_tactic}"[:600], cj.statement_body(m.statement),
                                      lemma, m.header))
                found += [(op, body, None, seed.header) for op, body in generalisations(cj.statement_body(seed.statement))
                          if op in c.operators]
                for j, (raw, body, lemma, header) in enumerate(found[:c.symbolic_per_seed]):
                    inp = cj.ConjectureInput(seed, lemma)
                    g = generated(f"sym_r{r}_{idx}_{j}", r, body, raw, inp, "symbolic")
                    rows.append(g.model_copy(update={"header": header}))
    finally:
        checker.close()
    return rows
