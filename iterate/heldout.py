"""Held-out evaluation of a round's model and memory on statements the run never trains on.

Each set is an eval run (eval.runner.run_eval, resumable itself) in
round-R/heldout/LABEL: a sample of the stdlib's random/val (in context) and of
miniF2F-Coq valid; with `--final`, after the last round, the test splits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proofsmith.iterate.config import IterateConfig
from proofsmith.iterate.layout import RunLayout
from proofsmith.iterate.records import HeldoutCounts


@dataclass(frozen=True)
class HeldoutSet:
    label: str
    benchmark: str
    split: str
    data: str | None  # None: the bundled copy
    limit: int


def heldout_sets(config: IterateConfig, final: bool) -> list[HeldoutSet]:
    h, trace = config.heldout, config.data.trace
    if final:
        sets = [HeldoutSet("stdlib-test", "coq-library", "random/test", trace, h.stdlib_test),
                HeldoutSet("minif2f-test", "minif2f-coq", "test", None, h.minif2f_test)]
    else:
        sets = [HeldoutSet("stdlib-val", "coq-library", "random/val", trace, h.stdlib_val),
                HeldoutSet("minif2f-valid", "minif2f-coq", "valid", None, h.minif2f_valid)]
    return [s for s in sets if s.limit]


def evaluate(config: IterateConfig, layout: RunLayout, r: int, options: dict[str, Any], final: bool,
             ray: str | None, progress: bool, log) -> dict[str, Any]:
    """Every held-out set of round r with its prover options (round r's model and memory); the stage's counts."""
    from proofsmith.eval.runner import RunConfig, run_eval

    p = config.prover
    results = {}
    for s in heldout_sets(config, final):
        run = RunConfig(benchmark=s.benchmark, split=s.split, data=s.data, prover=p.name,
                        prover_options=tuple(sorted(options.items())), budget_s=config.heldout.budget_s, attempts=1,
                        tactic_timeout_s=p.tactic_timeout_s, seed=config.heldout.seed, limit=s.limit,
                        workers=p.workers, ray=ray)
        log(f"round {r}: held-out {s.label} ({s.limit} problems)")
        summary = run_eval(run, layout.round(r).heldout(s.label, final), progress=progress).summary
        results[s.label] = HeldoutCounts(proved=summary["proved"], usable=summary["usable"],
                                         pass_rate=summary["pass_rate"], selected=summary["selected"],
                                         data_sha256=summary["data_sha256"]).model_dump()
    return results
