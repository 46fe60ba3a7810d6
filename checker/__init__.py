"""The only code that starts or talks to a proof assistant."""

from proofsmith.checker.types import (
    CheckerInfo,
    CheckResult,
    Goal,
    GoalState,
    Hypothesis,
    NextState,
    ProofFinished,
    ProofTask,
    Source,
    TacticError,
    TacticResult,
    TacticTimeout,
    Theorem,
    Verdict,
    render_goals,
)

__all__ = [
    "CheckerInfo",
    "CheckResult",
    "Goal",
    "GoalState",
    "Hypothesis",
    "NextState",
    "ProofFinished",
    "ProofTask",
    "Source",
    "TacticError",
    "TacticResult",
    "TacticTimeout",
    "Theorem",
    "Verdict",
    "render_goals",
]
