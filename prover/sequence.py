"""Provers tried one after another within one budget, each with its share.

`portfolio+search` is the practical default of the field ("hammer first"):
the automation portfolio takes a small share of the wall budget and proves
the easy statements in a second or two (all 19 portfolio proofs of 60
miniF2F-Coq test problems took under 2 s here); best-first search with the
model gets the rest of the budget for the statements it left. A prover later
in the line gets whatever time earlier ones did not use; a prover that does
not know the theorem's backend (the Coq portfolio on Lean) is left out. With K attempts
(pass@k), attempt i of the sequence is attempt i of every step that ran.
"""

from __future__ import annotations

import time
from dataclasses import replace

from proofsmith.checker.backend import Checker
from proofsmith.checker.types import Theorem, Verdict
from proofsmith.prover.base import AttemptOutcome, Budget, Prover, ProverResult


class ProverSequence(Prover):
    def __init__(self, steps: list[tuple[Prover, float]], name: str | None = None):
        """`steps`: (prover, share of the wall budget); the last step's share is whatever is left."""
        if not steps:
            raise ValueError("a prover sequence needs at least one prover")
        if any(not 0 < share <= 1 for _, share in steps):
            raise ValueError(f"budget shares must be in (0, 1], got {[share for _, share in steps]}")
        self.steps = steps
        self.name = name or "+".join(prover.name for prover, _ in steps)
        self.model = "+".join(p.model for p, _ in steps if p.model != "none") or "none"

    def describe(self) -> dict:
        return {
            "prover": self.name,
            "model": self.model,
            "steps": [dict(p.describe(), budget_share=share) for p, share in self.steps],
        }

    def prove(self, theorem: Theorem, checker: Checker, budget: Budget) -> ProverResult:
        start = time.perf_counter()
        results: list[tuple[str, ProverResult]] = []
        steps = [(p, share) for p, share in self.steps if p.backends is None or theorem.backend in p.backends]
        for i, (prover, share) in enumerate(steps):
            left = budget.wall_s - (time.perf_counter() - start)
            if left <= 0:
                break
            wall = left if i == len(steps) - 1 else min(left, budget.wall_s * share)
            result = prover.prove(theorem, checker, replace(budget, wall_s=wall))
            results.append((prover.name, result))
            if result.proved or result.verdict is Verdict.ERROR:
                break  # proved, or the statement itself is unusable
        if not steps:
            return ProverResult(theorem=theorem.name, verdict=Verdict.ERROR,
                                reason=f"no prover in {self.name} knows the backend {theorem.backend}")
        if not results:
            return ProverResult(theorem=theorem.name, verdict=Verdict.TIMEOUT, reason="no wall budget")
        return _combine(theorem, results, time.perf_counter() - start)


def _combine(theorem: Theorem, results: list[tuple[str, ProverResult]], elapsed: float) -> ProverResult:
    name, last = results[-1]
    timings: dict[str, float] = {}
    for _, r in results:
        for part, t in r.timings.items():
            timings[part] = round(timings.get(part, 0.0) + t, 4)
    reason = "; ".join(f"{n}: {r.reason}" for n, r in results if r.reason)
    return ProverResult(
        theorem=theorem.name,
        verdict=last.verdict,
        proof=last.proof,
        check=last.check,
        attempts=_attempts_by_index(results),
        time_s=elapsed,
        timings=timings,
        reason="" if last.proved else reason,
        extra={"proved_by": name if last.proved else None, **{n: r.extra for n, r in results}},
    )


def _attempts_by_index(results: list[tuple[str, ProverResult]]) -> list[AttemptOutcome]:
    """Attempt i of the sequence is attempt i of each step, proved if any step proved it (for pass@k)."""
    combined: list[AttemptOutcome] = []
    for i in range(max(len(r.attempts) for _, r in results)):
        tries = [r.attempts[i] for _, r in results if i < len(r.attempts)]
        proved = next((a for a in tries if a.verdict is Verdict.PROVED), None)
        combined.append(AttemptOutcome(
            proved.verdict if proved else tries[-1].verdict,
            proved.proof if proved else None,
            sum(a.time_s for a in tries),
        ))
    return combined
