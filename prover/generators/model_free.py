"""The model-free generator: automation tactics plus the top retrieved premises.

Every candidate gets a proper log-probability from one distribution per goal:
a share of the mass goes to automation tactics (weighted by a fixed prior,
sharpened by what the goal looks like: reals, a conjunction, a quantifier),
the rest to `apply`/`rewrite`/`exact` with retrieved premises, in proportion
to a softmax of the retrieval scores. Best-first search over these is the
baseline every learned generator has to beat. Goals printed by Lean (`⊢`)
get Lean 4 / Mathlib automation and premise tactics instead of Coq's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from proofsmith.prover.generators.base import TacticCandidate, TacticGenerator, TacticRequest, best_unique
from proofsmith.prover.premises import RetrievedPremise

# Prior weights of Coq automation (relative, normalised per goal).
COQ_AUTOMATION: dict[str, float] = {
    "lia.": 3.0,
    "intros.": 2.0,
    "auto.": 1.5,
    "ring.": 1.2,
    "nia.": 1.2,
    "easy.": 1.0,
    "reflexivity.": 0.8,
    "simpl.": 0.8,
    "intuition.": 0.8,
    "congruence.": 0.6,
    "firstorder.": 0.5,
    "assumption.": 0.4,
    "trivial.": 0.3,
    "subst.": 0.3,
    "eauto.": 0.3,
    "constructor.": 0.3,
    "tauto.": 0.3,
    "discriminate.": 0.2,
    "exfalso.": 0.1,
}

# The same for Lean 4 with Mathlib (goals that show `⊢`).
LEAN_AUTOMATION: dict[str, float] = {
    "linarith": 2.0,
    "norm_num": 2.0,
    "omega": 1.5,
    "simp": 1.5,
    "intro": 1.5,
    "nlinarith": 1.2,
    "ring": 1.2,
    "aesop": 0.8,
    "positivity": 0.6,
    "field_simp": 0.6,
    "rfl": 0.6,
    "decide": 0.4,
    "tauto": 0.4,
    "constructor": 0.3,
    "assumption": 0.3,
    "exfalso": 0.1,
}

# Extra weight when the first goal suggests a tactic: (pattern, where to look, tactic, weight);
# "goal" is the first goal with its hypotheses, "target" its conclusion only.
_REAL = re.compile(r"\bR\b|Rabs|sqrt|IZR|INR|Rpower|\bln\b|\bexp\b")
_GOAL_HINTS: tuple[tuple[re.Pattern[str], str, str, float], ...] = (
    (_REAL, "goal", "lra.", 3.0),
    (_REAL, "goal", "nra.", 1.5),
    (_REAL, "goal", "field.", 1.0),
    (re.compile(r"\bZ\b"), "goal", "nia.", 0.8),
    (re.compile(r"^\s*exists\b"), "target", "eexists.", 3.0),
    (re.compile(r"/\\|<->"), "target", "split.", 2.0),
    (re.compile(r"\\/"), "target", "left.", 0.8),
    (re.compile(r"\\/"), "target", "right.", 0.8),
)

_LEAN_GOAL_HINTS: tuple[tuple[re.Pattern[str], str, str, float], ...] = (
    (re.compile(r"ℝ"), "goal", "nlinarith", 1.0),
    (re.compile(r"ℕ|ℤ"), "goal", "omega", 1.0),
    (re.compile(r"^\s*∃"), "target", "refine ⟨?_, ?_⟩", 2.0),
    (re.compile(r"∧|↔"), "target", "constructor", 2.0),
    (re.compile(r"∨"), "target", "left", 0.8),
    (re.compile(r"∨"), "target", "right", 0.8),
)

_TARGET_INTRO = re.compile(r"^\s*(forall\b|~|∀|¬)|->|→")

LEAN_TURNSTILE = "⊢"

PREMISE_FORMS: dict[str, float] = {
    "apply {}.": 0.4,
    "rewrite {}.": 0.25,
    "exact {}.": 0.2,
    "rewrite <- {}.": 0.15,
}
LEAN_PREMISE_FORMS: dict[str, float] = {
    "apply {}": 0.4,
    "rw [{}]": 0.25,
    "exact {}": 0.2,
    "rw [← {}]": 0.15,
}


def is_lean_goal(goals: str) -> bool:
    """Lean prints a goal's conclusion after `⊢`; Coq under a line of `=`."""
    return LEAN_TURNSTILE in goals and "============================" not in goals


def _first_goal(goals: str) -> tuple[str, str]:
    """The first goal (hypotheses and conclusion) and its conclusion alone: tactics act on it."""
    first = goals.split("\n\n", 1)[0]
    separator = LEAN_TURNSTILE if is_lean_goal(first) else "============================"
    return first, first.rsplit(separator, 1)[-1]


class ModelFreeGenerator(TacticGenerator):
    name = "model-free"
    model = "none"

    def __init__(
        self,
        automation: dict[str, float] | None = None,
        lean_automation: dict[str, float] | None = None,
        premise_share: float = 0.35,
        premise_temperature: float = 0.1,
        premises_used: int = 4,
    ):
        if not 0.0 <= premise_share < 1.0:
            raise ValueError(f"premise_share must be in [0, 1), got {premise_share}")
        self.automation = dict(automation or COQ_AUTOMATION)
        self.lean_automation = dict(lean_automation or LEAN_AUTOMATION)
        self.premise_share = premise_share
        self.premise_temperature = premise_temperature
        self.premises_used = premises_used

    def propose(self, request: TacticRequest) -> list[list[TacticCandidate]]:
        return [self._for_goal(goal, premises, request.k) for goal, premises in request.goal_premises()]

    def _for_goal(self, goal: str, premises: Sequence[RetrievedPremise], k: int) -> list[TacticCandidate]:
        lean = is_lean_goal(goal)
        weights = dict(self.lean_automation if lean else self.automation)
        first, target = _first_goal(goal)
        for pattern, where, tactic, extra in _LEAN_GOAL_HINTS if lean else _GOAL_HINTS:
            if pattern.search(target if where == "target" else first):
                weights[tactic] = weights.get(tactic, 0.0) + extra
        if not _TARGET_INTRO.search(target):
            weights.pop("intro" if lean else "intros.", None)
        top = list(premises[: self.premises_used])
        automation_share = 1.0 - self.premise_share if top else 1.0
        total = sum(weights.values())
        candidates = [
            TacticCandidate(tactic, math.log(automation_share * w / total)) for tactic, w in weights.items()
        ]
        if top:
            best = max(p.score for p in top)
            exps = [math.exp((p.score - best) / self.premise_temperature) for p in top]
            norm = sum(exps)
            for premise, e in zip(top, exps):
                for form, share in (LEAN_PREMISE_FORMS if lean else PREMISE_FORMS).items():
                    mass = self.premise_share * (e / norm) * share
                    candidates.append(TacticCandidate(form.format(premise.name), math.log(mass)))
        return best_unique(candidates, k)
