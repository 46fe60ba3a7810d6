"""Held-out evaluation of a round's model and memory on statements the run never trains on.

Each set is an eval run (eval.runner.run_eval, resumable itself) in
round-R/heldout/LABEL: a sample of a stdlib split (`heldout.stdlib_split`, in context) and of
miniF2F-Coq valid, each with its 95% interval; with `--final`, after the last round, the test splits.
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
        test = f"{config.strategy}/test"
        sets = [HeldoutSet(stdlib_label(test), "coq-library", test, trace, h.stdlib_test),
                HeldoutSet("minif2f-test", "minif2f-coq", "test", None, h.minif2f_test)]
    else:
        # miniF2F valid when it is not in the pool, its test split otherwise
        minif2f = (HeldoutSet("minif2f-test", "minif2f-coq", "test", None, h.minif2f_valid)
                   if config.minif2f_valid_in_pool else HeldoutSet("minif2f-valid", "minif2f-coq", "valid", None,
                                                                  h.minif2f_valid))
        sets = [HeldoutSet(stdlib_label(h.stdlib_split), "coq-library", h.stdlib_split, trace, h.stdlib_val), minif2f]
    return [s for s in sets if s.limit]


def stdlib_label(split: str) -> str:
    """stdlib-val and stdlib-test for the random splits (as earlier runs have them), else the split in the name."""
    strategy, part = split.split("/")
    return f"stdlib-{part}" if strategy == "random" else f"stdlib-{strategy}-{part}"


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """The 95% Wilson score interval of a pass rate (None for no trials)."""
    if n <= 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))


def evaluate(config: IterateConfig, layout: RunLayout, r: int, options: dict[str, Any], final: bool,
             ray: str | None, progress: bool, log) -> dict[str, Any]:
    """Every held-out set of round r with its prover options (round r's model and memory); the stage's counts."""
    from proofsmith.eval.runner import RunConfig, run_eval

    p = config.prover
    if "memory" in options:
        options = dict(options, memory_online=False)  # held-out proofs must not teach the memory mid-evaluation
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
                                         data_sha256=summary["data_sha256"],
                                         interval_95=wilson_interval(summary["proved"], summary["usable"])).model_dump()
    return results
