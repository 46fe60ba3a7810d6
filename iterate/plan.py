"""`proofsmith iterate --dry-run`: the plan of a run (pools, sizes, stages, minutes per round) without running it.

The minutes are upper bounds from the budgets: a statement's proving stops at
`budget_s` whatever its attempts, `workers` statements at a time; generation,
elaboration, tracing and training are not budgeted and come on top.
"""

from __future__ import annotations

from pathlib import Path

from proofsmith.iterate.config import IterateConfig
from proofsmith.iterate.heldout import heldout_sets
from proofsmith.iterate.layout import RunLayout
from proofsmith.iterate.stages import ROUND_STAGES, ROUND_ZERO_STAGES


def _minutes(statements: int, budget_s: float, workers: int) -> float:
    return round(-(-statements // workers) * budget_s / 60, 1)


def _conjecturer(config: IterateConfig, source: str) -> str:
    c = config.conjecturer
    if source == "symbolic":
        return f"symbolic (operators {', '.join(c.operators)})"
    if config.served_conjecturer:
        return (f"model {c.model} served at {c.model_url} ({c.endpoint} endpoint, {c.samples_per_input} per input, "
                f"every round)")
    return f"model (the round's own, generator {c.generator}, {c.samples_per_input} per input)"


def plan_lines(config: IterateConfig, out: Path) -> list[str]:
    p, pools, c, t, h = config.prover, config.pools, config.conjecturer, config.training, config.heldout
    layout = RunLayout(out)
    rounds = config.run.rounds
    held = heldout_sets(config, final=False)
    held_n = sum(s.limit for s in held)
    held_min = _minutes(held_n, h.budget_s, p.workers)
    memory = ("off" if not config.memory.enabled else
              f"seeded from {config.data.trace} {config.strategy}/train" if config.memory.from_trace else "starts empty")
    learner = f"{t.max_steps} training steps" if t.enabled else "no model training"
    lines = [
        f"run folder: {layout.dir} ({'resumes' if layout.config.is_file() else 'new'})",
        f"inputs: trace {config.data.trace}; mutants {config.data.mutants if pools.mutants else '(none asked for)'}",
        f"prover: {p.name}, "
        + (f"model {p.model} (each round then the previous round's), " if t.enabled else "no model trained, ")
        + f"{p.workers} workers, "
        f"{p.budget_s:g} s a statement, {p.attempts} attempts (conjectures {p.conjecture_attempts})"
        + (f", search order sampled at temperature {p.sample_temperature:g} (attempt k: seed run.seed + k)"
           if p.sample_temperature > 0 else ", every attempt the same deterministic search"),
        f"tactic memory: {memory}; learns every verified proof of each round, saved per round",
        f"pools: {pools.library} library theorems of {config.library_pool_split} ({pools.library_per_round} a round"
        + ("; their human proofs hidden from the memory and training" if pools.library_split != "train" else "")
        + "), "
        f"{pools.mutants} mutants ({pools.mutants_per_round} a round)"
        + (f", {pools.statements} {pools.statements_benchmark} {pools.statements_split} statements "
           f"({pools.statements_per_round} a round, no human proof)" if pools.statements else "")
        + ("; shuffled" if pools.shuffle else ""),
        "held-out each round: " + ", ".join(f"{s.label} {s.limit}" for s in held) + f" at {h.budget_s:g} s",
        "conjecturers: " + ", ".join(_conjecturer(config, source) for source in c.sources)
        + f"; the memory learns {config.memory.conjectures} proved conjectures",
        f"round 0: stages {', '.join(s for s in ROUND_ZERO_STAGES if t.enabled or s not in ('examples', 'train'))}; "
        + (f"{t.mutation_examples} mutation + {t.human_examples} human examples, " if t.enabled else "")
        + f"{learner}; held-out <= {held_min} min",
    ]
    for shortfall, name, per, total in (("library", "library", pools.library_per_round, pools.library),
                                        ("mutants", "mutants", pools.mutants_per_round, pools.mutants)):
        if per and per * rounds > total:
            lines.append(f"note: pools.{name} = {total} covers {total // per} of {rounds} rounds of {per}; "
                         f"later rounds prove fewer {shortfall}")
    conjectures = c.inputs_per_round * (c.samples_per_input * ("model" in c.sources)
                                        + c.symbolic_per_seed * ("symbolic" in c.sources))
    for r in range(1, rounds + 1):
        statements = sum(min(per, max(0, total - (r - 1) * per)) for per, total in (
            (pools.library_per_round, pools.library), (pools.mutants_per_round, pools.mutants),
            (pools.statements_per_round, pools.statements)))
        prove_min = _minutes(statements, p.budget_s, p.workers)
        conj_min = _minutes(conjectures, p.budget_s, p.workers)
        total = round(prove_min + conj_min + held_min, 1)
        stages = [s for s in ROUND_STAGES if t.enabled or s not in ("examples", "train")]
        lines.append(f"round {r}: stages {', '.join(stages)}; {statements} statements (<= {prove_min} min), "
                     f"up to {conjectures} conjectures (<= {conj_min} min), {learner}, "
                     f"held-out <= {held_min} min; proving and held-out <= {total} min")
    return lines
