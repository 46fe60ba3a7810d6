"""The conjecturer (STP, Dong & Ma 2025): new, harder theorems from a lemma and a proved seed.

One model plays both roles. As conjecturer it reads a prompt made of

- a lemma: a library statement the seed's proof uses (with probability
  `empty_lemma_p`, 0.5 in STP, no lemma at all);
- the seed: a proved theorem with its proof;
- an opening for a new theorem (`Theorem conjecture :`), which it completes.

Before any self-play the conjecturer's training set is the mutation corpus
read as (parent theorem + the premise the mutation used -> mutant statement)
(`mutation_examples`), so even a small model starts from well-formed
statements.

A generated statement goes through the funnel:

1. generated: the model's completion, cut at the first sentence end;
2. well-formed: it elaborates in the seed's environment (the seed's header:
   the seed file's requires, the file itself, its scopes); an ill-formed one
   is counted under Coq's reason (`ill_formed_reason`);
3. new: its key (the statement up to bound names, as Coq prints it with its
   leading products introduced: the key mutation uses, `mutation.Context.key`)
   is neither the seed's, nor a library theorem's, nor a mutant's, nor an
   earlier conjecture's;
4. proved: the prover proved it at least once;
5. barely provable: its empirical pass rate (successes / attempts) is below
   `max_pass_rate` (0.25) and, when the prompt had a lemma, its proof uses the
   lemma;
6. kept: after the elegance filter (within each lemma group the
   `elegance_drop` share, 20%, with the lowest ratio of shortest proof length
   to statement length is dropped) and the per-round cap.

Seeds are proved statements whose empirical success rate is above
`min_seed_rate` (0.35); no single lemma may take more than `max_lemma_share`
(10%) of the conjecture inputs (`conjecture_inputs`).
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from proofsmith.checker.types import NextState, Theorem
from proofsmith.formats.statement_key import statement_key

CONJECTURE_INSTRUCTION = (
    "You are a Coq conjecturer. Given a lemma and a theorem with its proof, state a new theorem that is harder "
    "than the given one and whose proof could use the lemma. Reply with the statement only."
)
OPENING = "Theorem conjecture :"
NO_LEMMA = "(none)"

# STP's selection constants (paper and code).
MIN_SEED_RATE = 0.35
MAX_LEMMA_SHARE = 0.10
EMPTY_LEMMA_P = 0.5
MAX_PASS_RATE = 0.25
ELEGANCE_DROP = 0.20

FUNNEL_STAGES = ("generated", "well_formed", "new", "proved", "barely_provable", "kept")
_SENTENCE_END = re.compile(r"\.(?=\s|$)")
_OWN_OPENING = re.compile(r"^(?:Theorem|Lemma|Fact|Remark|Corollary|Proposition|Example)\s+[\w'.]+\s*:(?!=)")
_IDENT = re.compile(r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*")
_STATEMENT = re.compile(r"^\s*(?:Theorem|Lemma|Fact|Remark|Corollary|Proposition|Example)\s+[\w'.]+\s*:\s*(.*?)\s*\.?\s*$", re.S)


# ------------------------------------------------------------------ prompts


@dataclass(frozen=True)
class Lemma:
    name: str  # full name
    statement: str  # `short : type`, as the premise corpus has it

    @property
    def short(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Seed:
    """A proved statement a conjecture starts from, in its environment."""

    name: str
    statement: str  # `Theorem NAME : TYPE.`
    proof: str
    header: str
    key: str  # its statement up to bound names (never conjectured back)
    success_rate: float
    lemmas: tuple[Lemma, ...] = ()
    fallback_header: str = ""
    load_path: tuple = ()  # LoadPath.to_json() of what the header needs


def statement_body(statement: str) -> str:
    """`T` of `Theorem name : T.` (the statement itself when it is not of that shape)."""
    m = _STATEMENT.match(statement)
    return (m.group(1) if m else statement).strip().rstrip(".").strip()


class ConjectureFormat:
    """The conjecturer's prompt and the parsing of its completion, for training and for sampling alike."""

    def __init__(self, tokenizer: Any, max_prompt_tokens: int = 512, cut: Callable[[str, int], str] | None = None):
        """`cut(text, tokens)` shortens a prompt part to a token budget without the tokenizer (a served model:
        tokenizer None, the prompt plain text with no chat template, the server applying its own)."""
        if tokenizer is None and cut is None:
            raise ValueError("a conjecture format needs the model's tokenizer or a cut function")
        self.tokenizer: Any = tokenizer
        self.max_prompt_tokens = max_prompt_tokens
        self.cut = cut
        self.chat = bool(getattr(tokenizer, "chat_template", None))

    def _count(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _cut(self, text: str, tokens: int) -> str:
        if self.cut is not None:
            return self.cut(text, tokens)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return text if len(ids) <= tokens else self.tokenizer.decode(ids[: max(tokens, 1)]) + " ..."

    def prompt(self, lemma: Lemma | None, seed_statement: str, seed_proof: str) -> str:
        lemma_text = f"Lemma {lemma.statement.strip()}" if lemma is not None else NO_LEMMA
        budget = self.max_prompt_tokens
        lemma_text = self._cut(lemma_text, budget // 4)
        seed_statement = self._cut(seed_statement, budget // 3)
        seed_proof = self._cut(seed_proof.strip(), budget // 3)
        body = f"Lemma:\n{lemma_text}\n\nTheorem:\n{seed_statement}\nProof.\n{seed_proof}\nQed.\n\nNew theorem:"
        if self.chat:
            messages = [{"role": "system", "content": CONJECTURE_INSTRUCTION}, {"role": "user", "content": body}]
            head = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            head = f"{CONJECTURE_INSTRUCTION}\n\n{body}\n"
        return head + OPENING

    def target(self, body: str) -> str:
        eos = getattr(self.tokenizer, "eos_token", None) or ""
        return " " + body.strip().rstrip(".") + "." + eos

    @staticmethod
    def parse(text: str) -> str:
        """The statement body a completion gives (empty when none): cut at the first sentence end."""
        for special in ("<|im_end|>", "<|im_start|>", "<|endoftext|>"):
            text = text.split(special)[0]
        text = text.strip()
        if text.startswith("```"):  # a chat model's code fence (```coq ... ```): the code inside
            text = text.split("\n", 1)[1] if "\n" in text else text.strip("`")
            text = text.split("```", 1)[0].strip()
        # a model that restates the opening, or names its own theorem
        text = _OWN_OPENING.sub("", text, count=1).strip()
        m = _SENTENCE_END.search(text)
        body = text[: m.start()] if m else text
        return " ".join(body.split())


# ------------------------------------------------------------------ training data from mutants


@dataclass(frozen=True)
class ConjectureExample:
    lemma: Lemma | None
    seed_statement: str
    seed_proof: str
    conjecture: str  # the statement body to produce

    def render(self, fmt: ConjectureFormat) -> tuple[str, str]:
        return fmt.prompt(self.lemma, self.seed_statement, self.seed_proof), fmt.target(self.conjecture)


def mutation_examples(
    mutants: Iterable[Any],
    lemma_of: dict[str, str],
    proof_of: dict[str, str],
    exclude_parents: Collection[str] = frozenset(),
    limit: int | None = None,
    seed: int = 0,
    empty_lemma_p: float = 0.0,
) -> list[ConjectureExample]:
    """The first conjecturer training set: (parent + the premise used -> mutant statement).

    `mutants` are `MutantRecord`s; `lemma_of` maps a premise's full name to its
    corpus text (`short : type`); `proof_of` maps a parent's full name to its
    human proof (the trace's), else the parent is shown with no proof.
    Mutants of a parent in `exclude_parents` (held-out theorems) are skipped.
    """
    rng = random.Random(seed)
    out = []
    for m in mutants:
        if m.parent in exclude_parents:
            continue
        lemma = Lemma(m.premise, lemma_of[m.premise]) if m.premise in lemma_of else None
        if empty_lemma_p and rng.random() < empty_lemma_p:
            lemma = None
        proof = clean_proof(proof_of.get(m.parent, "")) or "(library proof)"
        out.append(ConjectureExample(lemma, m.parent_statement, proof, statement_body(m.statement)))
    if limit is not None and len(out) > limit:
        out = rng.sample(out, limit)
    return out


def clean_proof(proof: str) -> str:
    """A proof script without its `Proof.` / `Qed.` wrapper."""
    text = proof.strip()
    if text.startswith("Proof"):
        text = re.sub(r"^Proof(\s+with\s+[^.]*)?\.", "", text, count=1).strip()
    for end in ("Qed.", "Defined.", "Admitted."):
        if text.endswith(end):
            text = text[: -len(end)].strip()
    return text


# ------------------------------------------------------------------ lemmas a proof uses


class LemmaIndex:
    """Library theorems by name, to find the lemmas a proof mentions."""

    def __init__(self, premises: Iterable[tuple[str, str]]):
        self.by_full: dict[str, str] = {}
        self.by_suffix: dict[str, list[str]] = defaultdict(list)
        for full, code in premises:
            self.by_full[full] = code
            parts = full.split(".")
            for i in range(1, min(len(parts), 4)):
                self.by_suffix[".".join(parts[-i:])].append(full)

    @classmethod
    def from_corpus(cls, corpus) -> LemmaIndex:
        from proofsmith.data_synth.premise_index import is_theorem_kind

        return cls((p.full_name, p.code) for p in corpus.premises if is_theorem_kind(p.kind, p.code))

    def lemmas_in(self, proof: str, near: str = "") -> list[Lemma]:
        """The library theorems a proof names (a short name resolved to the one closest to `near`)."""
        found: dict[str, Lemma] = {}
        for ident in _IDENT.findall(proof):
            ident = ident.lstrip("@")
            if ident in self.by_full:
                full = ident
            else:
                candidates = self.by_suffix.get(ident)
                if not candidates:
                    continue
                full = max(candidates, key=lambda c: (_common_prefix(c, near), -len(c)))
            found.setdefault(full, Lemma(full, self.by_full[full]))
        return list(found.values())


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a.split("."), b.split(".")):
        if x != y:
            break
        n += 1
    return n


def uses_lemma(proof: str, lemma: Lemma | None) -> bool:
    """Whether a proof names the lemma (by its full or short name); vacuously true without a lemma."""
    if lemma is None:
        return True
    idents = {i.lstrip("@") for i in _IDENT.findall(proof or "")}
    return lemma.name in idents or lemma.short in idents or any(i.endswith("." + lemma.short) for i in idents)


# ------------------------------------------------------------------ seeds and inputs


def select_seeds(candidates: Sequence[Seed], min_rate: float = MIN_SEED_RATE) -> list[Seed]:
    """Seeds: proved statements whose empirical success rate is above `min_rate`."""
    return [s for s in candidates if s.success_rate > min_rate and s.proof.strip()]


@dataclass(frozen=True)
class ConjectureInput:
    seed: Seed
    lemma: Lemma | None


def conjecture_inputs(
    seeds: Sequence[Seed], n: int, rng: random.Random, empty_lemma_p: float = EMPTY_LEMMA_P,
    max_lemma_share: float = MAX_LEMMA_SHARE,
) -> list[ConjectureInput]:
    """`n` (seed, lemma) inputs drawn round-robin over shuffled seeds.

    Each input takes, with probability `empty_lemma_p`, no lemma; otherwise a
    lemma its seed's proof uses, never one already at `max_lemma_share` of the
    `n` inputs (the seed then goes without a lemma).
    """
    if not seeds or n <= 0:
        return []
    cap = max(1, int(max_lemma_share * n))
    used: Counter[str] = Counter()
    order = list(seeds)
    rng.shuffle(order)
    out = []
    for i in range(n):
        seed = order[i % len(order)]
        lemma = None
        if seed.lemmas and rng.random() >= empty_lemma_p:
            open_lemmas = [lm for lm in seed.lemmas if used[lm.name] < cap]
            if open_lemmas:
                lemma = rng.choice(open_lemmas)
                used[lemma.name] += 1
        out.append(ConjectureInput(seed, lemma))
    return out


def lemma_shares(inputs: Sequence[ConjectureInput]) -> dict[str, float]:
    counts = Counter(i.lemma.name for i in inputs if i.lemma is not None)
    return {name: c / len(inputs) for name, c in counts.items()} if inputs else {}


# ------------------------------------------------------------------ elaboration


def ill_formed_reason(message: str) -> str:
    """A short class of Coq's complaint about a statement, for the funnel's counts."""
    text = " ".join(message.split())
    text = re.sub(r"^(?:[\w'.]+: )?statement(?: does not compile)?:?\s*", "", text)
    text = re.sub(r"^(?:Error:\s*)+", "", text)
    for pattern, label in (
        (r"[Ss]yntax [Ee]rror|[Ll]exer|unterminated (?:string|comment)", "syntax error"),
        (r"The reference .* was not found", "unknown reference"),
        (r"[Uu]nbound|not found in the current environment", "unknown reference"),
        (r"has type .* while it is expected to have type|cannot be applied to the term|Illegal application|The term .* has type", "type error"),
        (r"[Cc]annot infer|Unable to unify|unresolved", "cannot infer"),
        (r"Unknown interpretation for notation|[Nn]otation", "notation"),
        (r"header does not compile", "header does not load"),
        (r"already exists", "name clash"),
        (r"time", "timeout"),
    ):
        if re.search(pattern, text):
            return label
    return text.split(":", 1)[0][:60] or "unknown"


@dataclass
class Elaboration:
    well_formed: bool
    key: str = ""
    reason: str = ""  # the class of Coq's complaint when not well-formed
    message: str = ""  # Coq's message
    header: str = ""  # the header it elaborated in


def elaborate(session, name: str, body: str, seed: Seed, timeout_s: float = 10.0) -> Elaboration:
    """Does `Theorem name : body.` elaborate in the seed's environment? Its key when it does."""
    from proofsmith.data_synth.mutation import HEADER_ERROR, INTRO_PRODUCTS, Context

    if not body:
        return Elaboration(False, reason="empty", message="the completion holds no statement")
    statement = f"Theorem {name} : {body}."
    headers = [seed.header] + ([seed.fallback_header] if seed.fallback_header else [])
    message = ""
    for header in headers:
        try:
            state = session.open(Theorem(name, statement, header), timeout_s)
        except ValueError as exc:
            message = str(exc)
            if HEADER_ERROR in message:
                continue
            return Elaboration(False, reason=ill_formed_reason(message), message=" ".join(message.split())[:400])
        except Exception as exc:  # a crash or a hang while elaborating
            return Elaboration(False, reason="checker failure", message=f"{type(exc).__name__}: {exc}"[:400])
        key = ""
        try:
            result = session.run(state, INTRO_PRODUCTS, timeout_s)
            if isinstance(result, NextState) and len(result.state.goals) == 1:
                ctx = Context.of(result.state.goals[0])
                key = ctx.key() if ctx is not None else ""
        except Exception:
            key = ""
        return Elaboration(True, key=key or text_key(body), header=header)
    return Elaboration(False, reason="header does not load", message=" ".join(message.split())[:400])


def text_key(body: str) -> str:
    """A key from the text alone (for statements Coq could not introduce)."""
    return statement_key(body)


# ------------------------------------------------------------------ selection


@dataclass
class ConjectureOutcome:
    """One conjecture after proving: what the selection rules read."""

    name: str
    body: str
    lemma: Lemma | None
    seed: str
    attempts: int
    successes: int
    proofs: list[str] = field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        return self.successes / self.attempts if self.attempts else 0.0

    @property
    def proved(self) -> bool:
        return self.successes > 0 and bool(self.proofs)

    def shortest_proof(self) -> str:
        return min(self.proofs, key=len) if self.proofs else ""

    def elegance(self) -> float:
        """Shortest proof length over statement length (STP's ratio; low: a long proof of a short statement)."""
        return len(self.shortest_proof()) / max(len(self.body), 1)


@dataclass
class Selection:
    proved: list[ConjectureOutcome]
    barely: list[ConjectureOutcome]
    kept: list[ConjectureOutcome]
    dropped: dict[str, int]


def select_conjectures(
    outcomes: Sequence[ConjectureOutcome],
    max_pass_rate: float = MAX_PASS_RATE,
    elegance_drop: float = ELEGANCE_DROP,
    cap: int | None = None,
    seed: int = 0,
) -> Selection:
    """STP's rules: proved at least once, pass rate below `max_pass_rate`, proof uses the lemma;
    the least elegant `elegance_drop` share of each lemma group dropped; at most `cap` kept."""
    dropped: Counter[str] = Counter()
    proved = [o for o in outcomes if o.proved]
    barely = []
    for o in proved:
        if o.pass_rate >= max_pass_rate:
            dropped["pass rate too high"] += 1
        elif not any(uses_lemma(p, o.lemma) for p in o.proofs):
            dropped["proof does not use the lemma"] += 1
        else:
            barely.append(o)
    groups: dict[str, list[ConjectureOutcome]] = defaultdict(list)
    for o in barely:
        groups[o.lemma.name if o.lemma else ""].append(o)
    kept = []
    for _, group in sorted(groups.items()):
        ranked = sorted(group, key=lambda o: (o.elegance(), o.name))
        n_drop = int(elegance_drop * len(ranked))
        if n_drop:
            dropped["elegance filter"] += n_drop
        kept.extend(ranked[n_drop:])
    if cap is not None and len(kept) > cap:
        rng = random.Random(seed)
        dropped["over the cap"] += len(kept) - cap
        kept = rng.sample(kept, cap)
    kept.sort(key=lambda o: o.name)
    return Selection(proved, barely, kept, dict(dropped))


@dataclass
class ConjectureFunnel:
    counts: dict[str, int] = field(default_factory=lambda: {s: 0 for s in FUNNEL_STAGES})
    ill_formed: dict[str, int] = field(default_factory=dict)
    not_new: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
