"""F*'s goals as checker Goals: the definition's type, and the goals of `proof-state` messages."""

from __future__ import annotations

from proofsmith.checker.fstar.protocol import ProofState
from proofsmith.checker.fstar.syntax import parse_val
from proofsmith.checker.types import Goal, Hypothesis


def definition_goal(statement: str, short_name: str) -> Goal:
    """The one goal of a definition: its type from the `val` (or the whole statement, or what to define)."""
    declared = parse_val(statement) if statement else None
    if declared is not None:
        return Goal((), declared.type)
    return Goal((), statement or f"a definition of {short_name}")


def proof_state_goals(state: ProofState) -> tuple[Goal, ...]:
    """The goals of a tactic's proof state (the SMT goals after the others)."""
    return tuple(
        Goal(tuple(Hypothesis((h.name,), h.type) for h in g.hyps), g.goal.type)
        for g in [*state.goals, *state.smt_goals]
    )
