"""The tactic-memory generator: the tactics of the nearest remembered states (Tactician's k-NN).

For a goal, the memory's `neighbours` nearest steps vote for their tactics,
each with the weight of a softmax of the cosine similarities at
`temperature`; a tactic's probability is the sum of its votes, so its
log-probability is proper (<= 0, the candidates' probabilities summing to at
most 1). A remembered tactic is first adapted to the goal's hypothesis names
(prover.hypothesis_renaming); one that names a hypothesis the goal lacks is
dropped with its vote (the mass is not given to the others).

It learns: `learn` adds a proof search found to the memory at once, so it
helps the next theorem (unless built with `online=False`).

With a chronological memory (prover.tactic_memory) it sees, for each search,
only the rows of the theorems before the target (`start`), and it does not
learn: the human proofs of every earlier theorem are there already, and a
proof found must not reach a theorem before its own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from proofsmith.checker.types import Theorem
from proofsmith.prover.generators.base import TacticCandidate, TacticGenerator, TacticRequest, best_unique
from proofsmith.prover.hypothesis_renaming import adapt_tactic
from proofsmith.prover.tactic_memory import MemoryHit, TacticMemory, TacticMemoryError

DEFAULT_NEIGHBOURS = 32
# Cosine similarities of near neighbours differ by hundredths: a low temperature lets the
# closest state's tactic stand out.
DEFAULT_TEMPERATURE = 0.02


@dataclass(frozen=True)
class Vote:
    """A remembered step's say for a goal: its softmax weight and its tactic adapted to the goal (or None)."""

    hit: MemoryHit
    weight: float
    tactic: str | None


class TacticMemoryGenerator(TacticGenerator):
    name = "tactic-memory"
    model = "none"
    uses_premises = False
    costly = False

    def __init__(
        self,
        memory: TacticMemory,
        neighbours: int = DEFAULT_NEIGHBOURS,
        temperature: float = DEFAULT_TEMPERATURE,
        online: bool = True,
    ):
        if neighbours < 1:
            raise ValueError(f"neighbours must be at least 1, got {neighbours}")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.memory = memory
        self.neighbours = neighbours
        self.temperature = temperature
        self.online = online and not memory.chronological
        # chronological memory: the rows the current search's target may see (set by `start`)
        self._rows: int | None = None
        self._last: tuple[tuple, list[list[Vote]]] | None = None
        # the nearest-neighbour search, and weighing the hits with their tactics adapted to the goal
        self._seconds = {"memory_query": 0.0, "memory_adapt": 0.0}

    def start(self, theorem: Theorem) -> None:
        if self.memory.chronological:
            self._rows = self.memory.rows_before(theorem.name)

    def propose(self, request: TacticRequest) -> list[list[TacticCandidate]]:
        goals = [goal for goal, _ in request.goal_premises()]
        return [
            best_unique([TacticCandidate(t, math.log(min(p, 1.0))) for t, p in self._mass(votes).items()], request.k)
            for votes in self.votes(goals)
        ]

    def votes(self, goals: Sequence[str]) -> list[list[Vote]]:
        """For each goal, its nearest remembered steps with their weights (summing to 1) and their
        tactics adapted to the goal's hypothesis names (None: the goal cannot supply a name it uses).
        The last goals asked are answered again without a second search (the premise-slot
        generator reads the same votes in the same expansion)."""
        if self.memory.chronological and self._rows is None:
            raise TacticMemoryError("a chronological tactic memory answers only within a search (start(theorem) "
                                    "names the target whose predecessors it may show)")
        key = (tuple(goals), self._rows, len(self.memory))
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        start = time.perf_counter()
        hits = self.memory.nearest_many(goals, self.neighbours, self._rows)
        searched = time.perf_counter()
        answer = [self._weigh(goal, goal_hits) for goal, goal_hits in zip(goals, hits)]
        self._seconds["memory_query"] += searched - start
        self._seconds["memory_adapt"] += time.perf_counter() - searched
        self._last = (key, answer)
        return answer

    def timings(self) -> dict[str, float]:
        return dict(self._seconds)

    def _weigh(self, goal: str, hits: Sequence[MemoryHit]) -> list[Vote]:
        if not hits:
            return []
        best = max(h.score for h in hits)
        weights = [math.exp((h.score - best) / self.temperature) for h in hits]
        total = sum(weights)
        return [Vote(hit, weight / total, adapt_tactic(hit.tactic, hit.state, goal)) for hit, weight in zip(hits, weights)]

    @staticmethod
    def _mass(votes: Sequence[Vote]) -> dict[str, float]:
        mass: dict[str, float] = {}
        for vote in votes:
            if vote.tactic is not None:
                mass[vote.tactic] = mass.get(vote.tactic, 0.0) + vote.weight
        return mass

    def learn(self, theorem: str, steps: Sequence[tuple[str, str]]) -> None:
        if self.online:
            self.memory.add_proof(theorem, steps)
