"""The interface every prover offers to the evaluation runner and the CLI.

A prover gets a theorem, a checker and a budget, and returns a `ProverResult`
that carries its own timings. A prover never decides on its own that a proof
is correct: only a `CheckResult` from the checker can make a result "proved",
and the runner re-checks every proved result through the soundness guard.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from proofsmith.checker.backend import Checker
from proofsmith.checker.types import CheckResult, Theorem, Verdict


@dataclass(frozen=True)
class Budget:
    """Limits for one theorem. `wall_s` is the hard limit; `attempts` is K for pass@k."""

    wall_s: float = 60.0
    attempts: int = 1
    expansions: int | None = None
    tactics_per_expansion: int = 8
    tactic_timeout_s: float = 10.0
    seed: int = 0


@dataclass(frozen=True)
class AttemptOutcome:
    """One of the K attempts on a theorem (pass@k counts the successful ones)."""

    verdict: Verdict
    proof: str | None
    time_s: float


@dataclass
class ProverResult:
    theorem: str
    verdict: Verdict
    proof: str | None = None
    check: CheckResult | None = None
    attempts: list[AttemptOutcome] = field(default_factory=list)
    time_s: float = 0.0
    # wall time spent in each component, e.g. {"model": .., "retrieval": .., "checker": ..}
    timings: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def proved(self) -> bool:
        return self.verdict is Verdict.PROVED

    @property
    def successes(self) -> int:
        return sum(a.verdict is Verdict.PROVED for a in self.attempts)


class Prover(abc.ABC):
    name: str = "prover"
    # Model identifier recorded with every result ("none" for model-free provers).
    model: str = "none"
    # The checker backends it can prove for (None: any).
    backends: tuple[str, ...] | None = None
    # Whether it replays the benchmark's own proof (`Problem.reference_proof`), which the
    # runner then passes as `prove(..., reference=...)` (prover.reference).
    replays_reference: bool = False

    @abc.abstractmethod
    def prove(self, theorem: Theorem, checker: Checker, budget: Budget) -> ProverResult: ...

    def describe(self) -> dict[str, Any]:
        """What goes into results and reports to identify this prover."""
        return {"prover": self.name, "model": self.model}
