"""Self-play conjecturing (STP): seeds, conjectures from them, elaboration and de-duplication, and the selection.

Seeds are the statements proved so far in the run with a success rate above
`conjecturer.min_seed_rate`; each input is (seed, a lemma its proof uses or
none). The language model completes an opening (`generate_with_model`);
every conjecture is elaborated in its seed's environment, keyed and
de-duplicated against the library, the mutants and earlier conjectures
(`elaborate_conjectures`). After proving, `select` keeps the ones that train
the conjecturer: proved, pass rate below `max_pass_rate`, the lemma used,
the elegance filter, a cap.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from proofsmith.data_synth import conjecture as cj
from proofsmith.iterate.config import IterateConfig
from proofsmith.iterate.layout import RoundLayout, RunLayout
from proofsmith.iterate.pools import RunInputs
from proofsmith.iterate.records import (
    Conjecture,
    GeneratedConjecture,
    KeptConjecture,
    RecordAppender,
    read_records,
    write_records,
)
from proofsmith.iterate.tracing import pass_rate


def seeds(inputs: RunInputs, layout: RunLayout, r: int) -> list[cj.Seed]:
    """Every statement proved in rounds 1..r (the latest proof), with its empirical success rate."""
    from proofsmith.formats.run_records import read_results

    pools = inputs.pools
    parents = {p.full_name: p for p in inputs.library.parents}
    keys = inputs.source_keys
    index = inputs.lemma_index
    statements = {p.name: p for p in pools.statements}
    found: dict[str, cj.Seed] = {}
    for k in range(1, r + 1):
        rd = layout.round(k)
        conjectures = {c.name: c for c in read_records(rd.conjectures, Conjecture)}
        for path in (rd.pool_results, rd.conjecture_results):
            for rec in read_results(path) if path.is_file() else []:
                if rec.get("verdict") != "proved" or not rec.get("proof"):
                    continue
                name, proof = rec["name"], rec.get("proof") or ""
                human = ""
                if name in pools.library_info:
                    info = pools.library_info[name]
                    parent = parents.get(name)
                    if parent is None:
                        continue
                    statement = f"Theorem {name.rsplit('.', 1)[-1]} : {' '.join(info.type.split())}."
                    header, fallback, key = parent.header, parent.fallback_header, keys.get(name, "")
                    human = info.proof
                elif name in pools.mutant_records:
                    m = pools.mutant_records[name]
                    statement, header, fallback, key = m.statement, m.header, "", m.key
                    human = m.proof  # its verified proof names the premise and the parent
                elif name in conjectures:
                    c = conjectures[name]
                    statement, header, fallback, key = c.statement, c.header, "", c.key
                elif name in statements:  # the statement-only pool: no human proof, the found one
                    theorem = statements[name].theorem
                    statement, header, fallback, key = theorem.statement, theorem.header, "", ""
                else:
                    continue
                lemmas = index.lemmas_in(proof, near=name) or index.lemmas_in(cj.clean_proof(human), near=name)
                found[name] = cj.Seed(name, statement, proof, header, key or cj.text_key(cj.statement_body(statement)),
                                      pass_rate(dict(rec)), tuple(lemmas[:8]), fallback)
    return list(found.values())


def known_keys(inputs: RunInputs, layout: RunLayout, r: int) -> dict[str, str]:
    """Key -> where it is known from: the library, the mutants, earlier rounds' conjectures."""
    known = {key: f"library {name}" for name, key in inputs.source_keys.items()}
    for m in inputs.mutant_records():
        known.setdefault(m.key, f"mutant {m.name}")
    for k in range(1, r):
        for c in read_records(layout.round(k).conjectures, Conjecture):
            if c.status == "new":
                known.setdefault(c.key, f"conjecture {c.name}")
    return known


def conjecture_inputs(config: IterateConfig, inputs: RunInputs, layout: RunLayout, r: int) -> list[cj.ConjectureInput]:
    c = config.conjecturer
    chosen = cj.select_seeds(seeds(inputs, layout, r), c.min_seed_rate)
    rng = random.Random(inputs.seed * 7919 + r)
    return cj.conjecture_inputs(chosen, c.inputs_per_round if chosen else 0, rng, c.empty_lemma_p, c.max_lemma_share)


def generate_with_model(config: IterateConfig, model: str, inputs: Sequence[cj.ConjectureInput], r: int,
                        seed: int) -> list[GeneratedConjecture]:
    """The language-model conjecturer: one opening per input completed `samples_per_input` times, by the
    round's own `model` or by the served one (config.served_conjecturer)."""
    from proofsmith.prover.generators import make_generator
    from proofsmith.prover.generators.base import DecodeRequest, LanguageModelGenerator
    from proofsmith.prover.generators.openai_server import cut_to_tokens

    c = config.conjecturer
    served = c.served_generator() if config.served_conjecturer else None
    gen: LanguageModelGenerator
    if served is not None:
        # No local tokenizer: prompt parts are cut by characters (4 a token), the prompt is plain text, and the
        # server applies its model's chat template (the instruction going as the system turn).
        gen = served
        fmt = cj.ConjectureFormat(None, c.max_prompt_tokens, cut=cut_to_tokens)
    else:
        options = {"threads": c.threads} if c.threads else {}
        local = make_generator(c.generator, None if model == "default" else model, **options)
        if not isinstance(local, LanguageModelGenerator):  # the config's choices are all model generators
            raise TypeError(f"conjecturer.generator {c.generator!r} built no language model")
        gen = local
        fmt = cj.ConjectureFormat(gen.prompt_format.tokenizer, c.max_prompt_tokens)
    prompts = [fmt.prompt(i.lemma, i.seed.statement, i.seed.proof) for i in inputs]
    try:
        outputs = gen.complete(DecodeRequest(prompts, c.samples_per_input, c.max_tokens, "sample", c.temperature,
                                             seed=seed + r))
    finally:
        if served is not None:
            served.close()  # its connection pool and threads
    return [generated(f"conj_r{r}_{idx}_{j}", r, fmt.parse(out.text), out.text[:600], inp, "model")
            for idx, (inp, outs) in enumerate(zip(inputs, outputs)) for j, out in enumerate(outs)]


def generated(name: str, r: int, body: str, raw: str, inp: cj.ConjectureInput, source: str) -> GeneratedConjecture:
    return GeneratedConjecture(
        name=name, round=r, body=body, raw=raw, source=source, seed=inp.seed.name,  # type: ignore[arg-type]
        seed_statement=inp.seed.statement, seed_proof=inp.seed.proof, seed_key=inp.seed.key,
        seed_rate=inp.seed.success_rate, header=inp.seed.header, fallback_header=inp.seed.fallback_header,
        lemma=inp.lemma.name if inp.lemma else None, lemma_statement=inp.lemma.statement if inp.lemma else None,
    )


Conjecturer = Callable[[Sequence[cj.ConjectureInput]], list[GeneratedConjecture]]


def make_conjectures(config: IterateConfig, inputs: RunInputs, layout: RunLayout, r: int,
                     conjecturers: Sequence[Conjecturer], log: Callable[[str], None]) -> dict[str, Any]:
    """Generate with every conjecturer from the same inputs (once: the file is the record), then elaborate,
    resuming after the last elaborated one."""
    rd = layout.round(r)
    if not rd.generated_conjectures.is_file():
        chosen = conjecture_inputs(config, inputs, layout, r)
        log(f"round {r}: {len(chosen)} conjecture inputs")
        t0 = time.monotonic()
        rows = [g for generate in conjecturers for g in (generate(chosen) if chosen else [])]
        log(f"round {r}: generated {len(rows)} conjectures in {time.monotonic() - t0:.0f} s")
        write_records(rd.generated_conjectures, rows)
    elaborate_conjectures(config, inputs, layout, r)
    recs = read_records(rd.conjectures, Conjecture)
    return {"generated": len(recs), "well_formed": sum(x.well_formed for x in recs),
            "new": sum(x.status == "new" for x in recs),
            "new_by_source": dict(Counter(x.source for x in recs if x.status == "new")),
            "by_source": dict(Counter(x.source for x in recs))}


def elaborate_conjectures(config: IterateConfig, inputs: RunInputs, layout: RunLayout, r: int) -> None:
    rd = layout.round(r)
    c = config.conjecturer
    done = read_records(rd.conjectures, Conjecture)
    known = known_keys(inputs, layout, r)
    for x in done:
        if x.status == "new":
            known.setdefault(x.key, f"conjecture {x.name}")
    finished = {x.name for x in done}
    todo = [g for g in read_records(rd.generated_conjectures, GeneratedConjecture) if g.name not in finished]
    if not todo:
        return
    from proofsmith.checker.registry import open_checker

    checker = open_checker("coq", inputs.checker_settings)
    try:
        with RecordAppender(rd.conjectures) as out, checker.session() as session:
            for g in todo:
                seed = cj.Seed(g.seed, g.seed_statement, g.seed_proof, g.header, g.seed_key, 1.0, (), g.fallback_header)
                e = cj.elaborate(session, g.name, g.body, seed, c.elaborate_timeout_s)
                duplicate_of = None
                if not e.well_formed:
                    status = "ill-formed"
                elif e.key == g.seed_key:
                    status, duplicate_of = "copy of seed", g.seed
                elif e.key in known:
                    status, duplicate_of = "duplicate", known[e.key]
                else:
                    status = "new"
                    known[e.key] = f"conjecture {g.name}"
                out.append(Conjecture(**g.model_dump(exclude={"header"}), well_formed=e.well_formed, key=e.key,
                                      reason=e.reason, message=e.message, header=e.header or g.header,
                                      statement=f"Theorem {g.name} : {g.body}.", status=status,  # type: ignore[arg-type]
                                      duplicate_of=duplicate_of))
    finally:
        checker.close()


def new_conjectures(rd: RoundLayout) -> list[Conjecture]:
    return [c for c in read_records(rd.conjectures, Conjecture) if c.status == "new"]


def select(config: IterateConfig, rd: RoundLayout, dataset_statements: int, seed: int) -> dict[str, Any]:
    """The STP selection of the round's proved conjectures; writes the funnel and the kept ones."""
    from proofsmith.formats.json_files import write_json
    from proofsmith.formats.run_records import read_results

    c = config.conjecturer
    conj = read_records(rd.conjectures, Conjecture)
    results = {rec["name"]: rec for rec in read_results(rd.conjecture_results)} if rd.conjecture_results.is_file() else {}
    outcomes = []
    for x in conj:
        if x.status != "new" or x.name not in results:
            continue
        res = results[x.name]
        lemma = cj.Lemma(x.lemma, x.lemma_statement or "") if x.lemma else None
        proofs = [res.get("proof") or ""] if res.get("verdict") == "proved" and res.get("proof") else []
        outcomes.append(cj.ConjectureOutcome(x.name, x.body, lemma, x.seed, res.get("attempts") or 0,
                                             (res.get("successes") or 0) if proofs else 0, proofs))
    cap = c.cap or dataset_statements
    sel = cj.select_conjectures(outcomes, c.max_pass_rate, c.elegance_drop, cap, seed)
    by_name = {x.name: x for x in conj}
    funnel = cj.ConjectureFunnel()
    funnel.counts = {
        "generated": len(conj), "well_formed": sum(x.well_formed for x in conj),
        "new": sum(x.status == "new" for x in conj), "proved": len(sel.proved),
        "barely_provable": len(sel.barely), "kept": len(sel.kept),
    }
    funnel.ill_formed = dict(Counter(x.reason for x in conj if not x.well_formed))
    funnel.not_new = dict(Counter(x.status for x in conj if x.well_formed and x.status != "new"))
    funnel.dropped = sel.dropped

    def example(x: Conjecture, **more: Any) -> dict[str, Any]:
        return {"name": x.name, "seed": x.seed, "lemma": x.lemma, "statement": x.body, "source": x.source,
                **({"reason": x.reason, "message": x.message[:200]} if not x.well_formed else {}), **more}

    funnel.examples = {
        "generated": [example(x) for x in conj[:3]],
        "ill_formed": [example(x) for x in conj if not x.well_formed][:3],
        "not_new": [example(x, status=x.status, duplicate_of=x.duplicate_of)
                    for x in conj if x.well_formed and x.status != "new"][:3],
        "new": [example(x) for x in conj if x.status == "new"][:3],
        "proved": [example(by_name[o.name], pass_rate=o.pass_rate, proof=o.shortest_proof()) for o in sel.proved][:3],
        "kept": [example(by_name[o.name], pass_rate=o.pass_rate, proof=o.shortest_proof()) for o in sel.kept][:5],
    }
    kept = []
    for o in sel.kept:
        x = by_name[o.name]
        kept.append(KeptConjecture(name=o.name, statement=x.statement, body=x.body, header=x.header, source=x.source,
                                   seed=x.seed, seed_statement=x.seed_statement, seed_proof=x.seed_proof,
                                   lemma=x.lemma, lemma_statement=x.lemma_statement, proof=o.shortest_proof(),
                                   pass_rate=o.pass_rate))
    write_records(rd.kept_conjectures, kept)
    write_json(rd.funnel, funnel.to_json(), indent=1)
    return dict(funnel.counts)
