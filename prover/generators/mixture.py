"""A mixture of tactic generators: one proposal distribution from several.

Best-first search with a small language model alone spends its budget on the
model's guesses and loses what cheap automation would have closed at once (on
60 miniF2F-Coq test problems at 20 s, the fine-tuned SmolLM2-135M alone proved
4, the automation portfolio 19). Mixing the model with the model-free
generator keeps both: each candidate's probability is the weighted sum of its
probabilities under the parts,

    p(t) = sum_i w_i * p_i(t),

so a tactic both propose (say `lia.`) ranks above one only a single part
proposes, and the result is still a proper log-probability that search can add
up along a path. Each part is asked for its own k candidates; the mixture keeps
the k best overall. Search asks the cheap parts first (`stages`), so a node
that automation closes never waits for the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from proofsmith.checker.types import Theorem
from proofsmith.prover.generators.base import TacticCandidate, TacticGenerator, TacticRequest, best_unique, goal_text


class MixtureGenerator(TacticGenerator):
    name = "mixture"

    def __init__(self, parts: Sequence[tuple[TacticGenerator, float, int | None]], normalize: bool = True,
                 sources: dict[tuple[str, str], TacticGenerator] | None = None):
        """`parts`: (generator, weight, candidates asked of it or None for the caller's k).

        `normalize=False` keeps the weights as given (summing to less than 1:
        a part of a larger mixture, whose probabilities are lower bounds).
        `sources` is where the part behind each (goal, tactic) is noted (a stage shares its
        mixture's; see `source_of`).
        """
        if not parts:
            raise ValueError("a mixture needs at least one generator")
        total = sum(weight for _, weight, _ in parts) if normalize else 1.0
        if any(weight < 0 for _, weight, _ in parts) or total <= 0:
            raise ValueError(f"mixture weights must be non-negative with a positive sum, got {[w for _, w, _ in parts]}")
        self.parts = [(gen, weight / total, k) for gen, weight, k in parts if weight > 0]
        self.costly = any(gen.costly for gen, _, _ in self.parts)
        self.uses_premises = any(gen.uses_premises for gen, _, _ in self.parts)
        self.model = "+".join(gen.model for gen, _, _ in self.parts if gen.model != "none") or "none"
        self.name = "mixture(" + ",".join(f"{gen.name}:{weight:.2f}" for gen, weight, _ in self.parts) + ")"
        # (goal text, tactic) -> the part that gave the tactic most of its probability, this search
        self._sources: dict[tuple[str, str], TacticGenerator] = {} if sources is None else sources

    def propose(self, request: TacticRequest) -> list[list[TacticCandidate]]:
        mass: list[dict[str, float]] = [{} for _ in request.goals]
        best_part: list[dict[str, tuple[float, TacticGenerator]]] = [{} for _ in request.goals]
        for gen, weight, part_k in self.parts:
            proposals = gen.propose(replace(request, k=part_k or request.k))
            for per_goal, best, candidates in zip(mass, best_part, proposals):
                for tactic, logprob in candidates:
                    p = weight * math.exp(logprob)
                    per_goal[tactic] = per_goal.get(tactic, 0.0) + p
                    if p > best.get(tactic, (0.0, gen))[0]:
                        best[tactic] = (p, gen)
        for goal, best in zip(request.goals, best_part):
            text = goal_text(goal)
            for tactic, (_, gen) in best.items():
                self._sources[(text, tactic.strip())] = gen
        return [
            best_unique([TacticCandidate(t, math.log(p)) for t, p in per_goal.items() if p > 0], request.k)
            for per_goal in mass
        ]

    def start(self, theorem: Theorem) -> None:
        self._sources.clear()
        for gen, _, _ in self.parts:
            gen.start(theorem)

    def source_of(self, goal: str, tactic: str) -> str:
        part = self._sources.get((goal, tactic.strip()))
        return part.source_of(goal, tactic) if part is not None else self.name

    def learn(self, theorem: str, steps: Sequence[tuple[str, str]]) -> None:
        for gen, _, _ in self.parts:
            gen.learn(theorem, steps)

    def timings(self) -> dict[str, float]:
        """The parts' timings added up (a part that appears twice counts once)."""
        total: dict[str, float] = {}
        for gen in {id(gen): gen for gen, _, _ in self.parts}.values():
            for name, seconds in gen.timings().items():
                total[name] = total.get(name, 0.0) + seconds
        return total

    def stages(self) -> list[TacticGenerator]:
        """The cheap parts alone first, then the whole mixture.

        The first stage scores a tactic by the cheap parts' share of its
        mixture probability (a lower bound); the second adds the costly parts
        (the model), so the model runs only on nodes automation left open.
        """
        cheap = [part for part in self.parts if not part[0].costly]
        if not cheap or len(cheap) == len(self.parts):
            return [self]
        return [MixtureGenerator(cheap, normalize=False, sources=self._sources), self]
