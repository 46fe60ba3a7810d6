"""The premise-slot generator: remembered tactics with their premise arguments refilled for the goal.

For a goal, the tactic memory's nearest steps vote as in
prover.generators.tactic_memory; each voted tactic with premise slots
(prover.premise_slots) becomes a template, weighted by its vote. The
premises accessible to the target that suit a slot are ranked for the goal by
their statements' embeddings (`PremiseStatements`), and the template is filled
with each of the best: a candidate's probability is its template's vote times
the premise's softmax weight among those ranked (`premise_temperature`), so
the candidates' probabilities sum to at most 1. A filling that only repeats
the remembered name is left to the plain memory, which proposes it already.

With `single_steps`, a slot also gives the one-premise step its part of the
tactic comes down to (`PremiseSlot.single_step`: `rewrite X.` from
`now rewrite A, X by lia.`, `apply X in H.` from `apply (X a) in H; auto.`),
filled the same way and with the remembered name itself among the fillers:
most steps that use a premise no training proof used are compound (on the
stdlib's novel_premises/test, 761 of 935), so a refilled compound template
must get its other parts right too, while the single step only asks the
premise to fit and leaves the rest to the next expansion. The single steps
take `SINGLE_STEP_SHARE` of each vote, the whole templates the rest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from proofsmith.checker.types import Theorem
from proofsmith.prover.generators.base import TacticCandidate, TacticGenerator, TacticRequest, best_unique
from proofsmith.prover.generators.tactic_memory import TacticMemoryGenerator, Vote
from proofsmith.prover.hypothesis_renaming import hypotheses
from proofsmith.prover.premise_slots import PremiseSlot, PremiseStatements, premise_slots
from proofsmith.prover.tactic_memory import state_key

DEFAULT_TEMPLATES = 6
DEFAULT_PREMISES = 8
# Feature-encoder cosines of the best premises differ by a few hundredths.
DEFAULT_PREMISE_TEMPERATURE = 0.05
SINGLE_STEP_SHARE = 0.5


class PremiseSlotGenerator(TacticGenerator):
    name = "premise-slots"
    model = "none"
    uses_premises = False
    costly = False

    def __init__(
        self,
        memory: TacticMemoryGenerator,
        statements: PremiseStatements,
        templates: int = DEFAULT_TEMPLATES,
        premises: int = DEFAULT_PREMISES,
        premise_temperature: float = DEFAULT_PREMISE_TEMPERATURE,
        single_steps: bool = False,
    ):
        if templates < 1 or premises < 1:
            raise ValueError(f"templates and premises must be at least 1, got {templates} and {premises}")
        if premise_temperature <= 0:
            raise ValueError(f"premise_temperature must be positive, got {premise_temperature}")
        self.memory = memory
        self.statements = statements
        self.templates = templates
        self.premises = premises
        self.premise_temperature = premise_temperature
        self.single_steps = single_steps
        self._theorem: Theorem | None = None

    def start(self, theorem: Theorem) -> None:
        self.memory.start(theorem)
        self._theorem = theorem

    def propose(self, request: TacticRequest) -> list[list[TacticCandidate]]:
        if self._theorem is None:
            raise ValueError("the premise-slot generator answers only within a search (start(theorem) names the "
                             "target whose accessible premises fill the slots)")
        goals = [goal for goal, _ in request.goal_premises()]
        return [self._fill(goal, votes, request.k) for goal, votes in zip(goals, self.memory.votes(goals))]

    def _templates(self, votes: Sequence[Vote]) -> tuple[list[tuple[str, PremiseSlot, float]],
                                                         list[tuple[str, PremiseSlot, float]]]:
        """The best-voted (tactic, slot) pairs, each with its tactic's vote, and (with `single_steps`)
        the best-voted single steps, each with its share of the votes of the slots that come down to it."""
        whole: dict[tuple[str, PremiseSlot], float] = {}
        single: dict[tuple[str, PremiseSlot], float] = {}
        keep = 1.0 - SINGLE_STEP_SHARE if self.single_steps else 1.0
        for vote in votes:
            if vote.tactic is None:
                continue
            names = {name for name, _ in hypotheses(vote.hit.state)}
            slots = premise_slots(vote.tactic, names)
            for slot in slots:
                whole[(vote.tactic, slot)] = whole.get((vote.tactic, slot), 0.0) + keep * vote.weight
                step = slot.single_step(vote.tactic) if self.single_steps else None
                if step is not None:
                    single[step] = single.get(step, 0.0) + SINGLE_STEP_SHARE * vote.weight / len(slots)
        return _best(whole, self.templates), _best(single, self.templates)

    def _fill(self, goal: str, votes: Sequence[Vote], k: int) -> list[TacticCandidate]:
        assert self._theorem is not None
        templates, single = self._templates(votes)
        if not templates and not single:
            return []
        key = state_key(goal)
        ranked = {kind: self.statements.rank(key, self._theorem, kind, self.premises)
                  for kind in {slot.kind for _, slot, _ in templates + single}}
        share = {kind: _softmax([score for _, score in found], self.premise_temperature) for kind, found in ranked.items()}
        # A slot may hold more than one template weight; dividing by the slots of a tactic keeps the total at most 1.
        slots_of: dict[str, int] = {}
        for tactic, _, _ in templates:
            slots_of[tactic] = slots_of.get(tactic, 0) + 1
        mass: dict[str, float] = {}
        for tactic, slot, weight in templates:
            for (premise, _), p in zip(ranked[slot.kind], share[slot.kind]):
                if self._remembered(premise.full_name, slot):
                    continue
                filled = slot.fill(tactic, self.statements.name_for(premise, self._theorem))
                mass[filled] = mass.get(filled, 0.0) + weight * p / slots_of[tactic]
        for step, slot, weight in single:
            found = ranked[slot.kind]
            # the remembered premise on its own (the split of the remembered step) ranks with the best
            fillers = [(slot.name, max((score for _, score in found), default=0.0))] + [
                (self.statements.name_for(premise, self._theorem), score)
                for premise, score in found if not self._remembered(premise.full_name, slot)]
            for (name, _), p in zip(fillers, _softmax([score for _, score in fillers], self.premise_temperature)):
                filled = slot.fill(step, name)
                mass[filled] = mass.get(filled, 0.0) + weight * p
        return best_unique([TacticCandidate(t, math.log(min(p, 1.0))) for t, p in mass.items() if p > 0], k)

    @staticmethod
    def _remembered(full_name: str, slot: PremiseSlot) -> bool:
        return full_name == slot.name or full_name.endswith("." + slot.name)


def _best(mass: dict[tuple[str, PremiseSlot], float], n: int) -> list[tuple[str, PremiseSlot, float]]:
    ranked = sorted(mass.items(), key=lambda item: -item[1])[:n]
    return [(tactic, slot, weight) for (tactic, slot), weight in ranked]


def _softmax(scores: Sequence[float], temperature: float) -> list[float]:
    if not scores:
        return []
    best = max(scores)
    weights = [math.exp((s - best) / temperature) for s in scores]
    total = sum(weights)
    return [w / total for w in weights]
