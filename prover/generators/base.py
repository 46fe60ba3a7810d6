"""The one interface every tactic generator offers.

`generate(goals, k, premises)` is batched: one list of up to k candidates per
goal, each a `(tactic, logprob)` pair, best first, without duplicates. The
log-probabilities are what best-first search adds up along a path, so each
generator must return proper log-probabilities (<= 0), not arbitrary scores.
What is asked travels as one `TacticRequest`; a generator implements
`propose(request)`.

Language-model generators share `LanguageModelGenerator`: prompts come from
`PromptFormat`, the backend only turns a `DecodeRequest` (prompt strings and
how to decode them) into completions. The same object also samples whole
proofs for pass@k (prover.sampling).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

from proofsmith.checker.types import GoalState, Theorem
from proofsmith.prover.premises import RetrievedPremise
from proofsmith.prover.prompt import PromptFormat
from proofsmith.prover.proof_examples import ProofExample


class TacticCandidate(NamedTuple):
    tactic: str
    logprob: float


class Completion(NamedTuple):
    text: str
    logprob: float


PremiseLists = Sequence[Sequence[RetrievedPremise]]
ProofLists = Sequence[Sequence[ProofExample]]


@dataclass(frozen=True)
class TacticRequest:
    """Up to k candidate tactics for each goal, best first.

    `premises` has one list per goal (None: none retrieved), and so has
    `proofs`: similar whole proofs for the prompt (proof retrieval,
    prover.generators.proof_retrieval; None: none). `seed` makes
    sampling reproducible; deterministic generators ignore it. `time_limit_s`
    bounds decoding (what is unfinished then is cut short); generators that
    cannot stop early ignore it.
    """

    goals: Sequence[GoalState | str]
    k: int
    premises: PremiseLists | None = None
    seed: int | None = None
    time_limit_s: float | None = None
    proofs: ProofLists | None = None

    def __post_init__(self) -> None:
        if self.premises is not None and len(self.premises) != len(self.goals):
            raise ValueError(f"{len(self.goals)} goals but {len(self.premises)} premise lists")
        if self.proofs is not None and len(self.proofs) != len(self.goals):
            raise ValueError(f"{len(self.goals)} goals but {len(self.proofs)} proof lists")

    def goal_premises(self) -> list[tuple[str, Sequence[RetrievedPremise]]]:
        """(goal text, its premises) for each goal."""
        premises = self.premises if self.premises is not None else [()] * len(self.goals)
        return [(goal_text(g), p) for g, p in zip(self.goals, premises)]

    def goal_proofs(self) -> list[Sequence[ProofExample]]:
        """The similar proofs of each goal (empty where none were retrieved)."""
        return list(self.proofs) if self.proofs is not None else [()] * len(self.goals)


@dataclass(frozen=True)
class DecodeRequest:
    """k completions for each prompt, with their total log-probabilities.

    `decoding` "beam" gives the k likeliest, "sample" k draws at
    `temperature`. `single_line` ends a completion at its first line break (a
    tactic is one line; a whole proof is not). `time_limit_s` as in
    TacticRequest.
    """

    prompts: Sequence[str]
    k: int
    max_new_tokens: int
    decoding: str
    temperature: float = 1.0
    seed: int | None = None
    single_line: bool = False
    time_limit_s: float | None = None


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

    def generate(
        self,
        goals: Sequence[GoalState | str],
        k: int,
        premises: PremiseLists | None = None,
        seed: int | None = None,
        time_limit_s: float | None = None,
    ) -> list[list[TacticCandidate]]:
        """`propose` for a TacticRequest of these fields."""
        return self.propose(TacticRequest(goals, k, premises, seed, time_limit_s))

    @abc.abstractmethod
    def propose(self, request: TacticRequest) -> list[list[TacticCandidate]]:
        """Up to `request.k` candidate tactics for each goal, best first."""

    def start(self, theorem: Theorem) -> None:
        """Search calls it before each search of `theorem`. A generator whose knowledge depends on
        the target (a chronological tactic memory sees only what precedes it in the library) narrows
        to it here. By default nothing happens."""

    def source_of(self, goal: str, tactic: str) -> str:
        """Which generator proposed `tactic` for `goal` in this search (a mixture names the part that
        gave it most of its probability); by default this one."""
        return self.name

    def learn(self, theorem: str, steps: Sequence[tuple[str, str]]) -> None:
        """A proof the checker accepted: (goal text before, tactic) per step, in order.

        Search calls it after each proof it finds; a generator that learns
        online (the tactic memory) remembers it. By default nothing happens.
        """

    def stages(self) -> list[TacticGenerator]:
        """The generators search asks in turn at each node, cheapest first.

        A node that an earlier stage closes never pays for a later one (a
        model call); a later stage's candidates already tried are skipped.
        """
        return [self]

    def timings(self) -> dict[str, float]:
        """Wall seconds spent so far in named parts of proposing (cumulative; by default none). Search
        records the difference over a search in the result's timings, as parts of its "model" time."""
        return {}


@dataclass(frozen=True)
class DecodingSettings:
    """How a local model decodes: one settings object for the transformers, CTranslate2 and vLLM
    generators (each takes its own device and thread options besides)."""

    max_prompt_tokens: int = 768
    # "beam" gives the k most likely tactics (as ReProver); "sample" draws k.
    decoding: str = "beam"
    temperature: float = 1.0
    max_tactic_tokens: int = 64
    max_proof_tokens: int = 384
    batch_size: int = 8

    def __post_init__(self) -> None:
        if self.decoding not in ("beam", "sample"):
            raise ValueError(f"decoding {self.decoding!r}: expected 'beam' or 'sample'")
        for name in ("max_prompt_tokens", "max_tactic_tokens", "max_proof_tokens", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    @classmethod
    def take(cls, options: dict[str, Any]) -> DecodingSettings:
        """The settings named in `options`, popped from it (the rest is the generator's own)."""
        return cls(**{f.name: options.pop(f.name) for f in fields(cls) if f.name in options})


class LanguageModelGenerator(TacticGenerator):
    """A generator backed by a language model; subclasses only implement `complete`."""

    prompt_format: PromptFormat
    costly = True
    settings: DecodingSettings = DecodingSettings()

    @abc.abstractmethod
    def complete(self, request: DecodeRequest) -> list[list[Completion]]:
        """`request.k` completions per prompt with their total log-probabilities."""

    def propose(self, request: TacticRequest) -> list[list[TacticCandidate]]:
        if not request.goals:
            return []
        prompts = [
            self.prompt_format.tactic_prompt(goal, premises, proofs)
            for (goal, premises), proofs in zip(request.goal_premises(), request.goal_proofs())
        ]
        outputs = self.complete(DecodeRequest(
            prompts, request.k, self.settings.max_tactic_tokens, self.settings.decoding, self.settings.temperature,
            request.seed, single_line=True, time_limit_s=request.time_limit_s,
        ))
        return [
            best_unique([TacticCandidate(self.prompt_format.parse_tactic(c.text), c.logprob) for c in outs], request.k)
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
        proofs: Sequence[ProofExample] = (),
    ) -> list[Completion]:
        """k whole proof scripts from a theorem's initial goals (duplicates kept: pass@k counts samples)."""
        prompt = self.prompt_format.proof_prompt(goal_text(goal), premises, proofs)
        outputs = self.complete(
            DecodeRequest([prompt], k, self.settings.max_proof_tokens, "sample", temperature, seed,
                          time_limit_s=time_limit_s)
        )[0]
        return [Completion(self.prompt_format.parse_proof(c.text), c.logprob) for c in outputs]
