"""The one interface every tactic generator offers.

`generate(goals, k, premises)` is batched: one list of up to k candidates per
goal, each a `(tactic, logprob)` pair, best first, without duplicates. The
log-probabilities are what best-first search adds up along a path, so each
generator must return proper log-probabilities (<= 0), not arbitrary scores.

Language-model generators share `LanguageModelGenerator`: prompts come from
`PromptFormat`, the backend only turns prompt strings into completions. The
same object also samples whole proofs for pass@k (prover.sampling).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import NamedTuple

from checker.types import GoalState
from prover.premises import RetrievedPremise
from prover.prompt import PromptFormat


class TacticCandidate(NamedTuple):
    tactic: str
    logprob: float


class Completion(NamedTuple):
    text: str
    logprob: float


PremiseLists = Sequence[Sequence[RetrievedPremise]]


def goal_text(goal: GoalState | str) -> str:
    return goal if isinstance(goal, str) else goal.text


def best_unique(candidates: Sequence[TacticCandidate], k: int) -> list[TacticCandidate]:
    """Drop empty and repeated tactics (keeping the best score), best first, at most k."""
    best: dict[str, float] = {}
    for tactic, logprob in candidates:
        tactic = tactic.strip()
        if tactic and (tactic not in best or logprob > best[tactic]):
            best[tactic] = logprob
    ranked = sorted(best.items(), key=lambda item: -item[1])[:k]
    return [TacticCandidate(t, lp) for t, lp in ranked]


class TacticGenerator(abc.ABC):
    name: str = "generator"
    # Whether the search should retrieve premises for this generator.
    uses_premises: bool = True
    # Model identifier recorded with results ("none" for model-free).
    model: str = "none"
    # Whether proposing costs real time (a model call); see `stages`.
    costly: bool = False

    @abc.abstractmethod
    def generate(
        self,
        goals: Sequence[GoalState | str],
        k: int,
        premises: PremiseLists | None = None,
        seed: int | None = None,
        time_limit_s: float | None = None,
    ) -> list[list[TacticCandidate]]:
        """Up to k candidate tactics for each goal, best first.

        `seed` makes sampling reproducible; deterministic generators ignore it.
        `time_limit_s` bounds decoding (what is unfinished then is cut short);
        generators that cannot stop early ignore it.
        """

    def stages(self) -> list[TacticGenerator]:
        """The generators search asks in turn at each node, cheapest first.

        A node that an earlier stage closes never pays for a later one (a
        model call); a later stage's candidates already tried are skipped.
        """
        return [self]


class LanguageModelGenerator(TacticGenerator):
    """A generator backed by a language model; subclasses only implement `complete`."""

    prompt_format: PromptFormat
    costly = True
    max_tactic_tokens: int = 64
    max_proof_tokens: int = 384
    # "beam" gives the k most likely tactics (as ReProver); "sample" draws k.
    decoding: str = "beam"
    temperature: float = 1.0

    @abc.abstractmethod
    def complete(
        self,
        prompts: Sequence[str],
        k: int,
        max_new_tokens: int,
        decoding: str,
        temperature: float,
        seed: int | None = None,
        single_line: bool = False,
        time_limit_s: float | None = None,
    ) -> list[list[Completion]]:
        """k completions per prompt with their total log-probabilities.

        `single_line` ends a completion at its first line break (a tactic is
        one line; a whole proof is not).
        """

    def generate(
        self,
        goals: Sequence[GoalState | str],
        k: int,
        premises: PremiseLists | None = None,
        seed: int | None = None,
        time_limit_s: float | None = None,
    ) -> list[list[TacticCandidate]]:
        if not goals:
            return []
        premises = premises if premises is not None else [()] * len(goals)
        if len(premises) != len(goals):
            raise ValueError(f"{len(goals)} goals but {len(premises)} premise lists")
        prompts = [self.prompt_format.tactic_prompt(goal_text(g), p) for g, p in zip(goals, premises)]
        outputs = self.complete(
            prompts, k, self.max_tactic_tokens, self.decoding, self.temperature, seed,
            single_line=True, time_limit_s=time_limit_s,
        )
        return [
            best_unique([TacticCandidate(self.prompt_format.parse_tactic(c.text), c.logprob) for c in outs], k)
            for outs in outputs
        ]

    def sample_proofs(
        self,
        goal: GoalState | str,
        k: int,
        premises: Sequence[RetrievedPremise] = (),
        temperature: float = 1.0,
        seed: int | None = None,
        time_limit_s: float | None = None,
    ) -> list[Completion]:
        """k whole proof scripts from a theorem's initial goals (duplicates kept: pass@k counts samples)."""
        prompt = self.prompt_format.proof_prompt(goal_text(goal), premises)
        outputs = self.complete(
            [prompt], k, self.max_proof_tokens, "sample", temperature, seed, time_limit_s=time_limit_s
        )[0]
        return [Completion(self.prompt_format.parse_proof(c.text), c.logprob) for c in outputs]

