"""Next-step suggestions for a proof in progress: the engine behind `proofsmith suggest`.

A `SuggestionEngine` holds one proof: a stack of steps (tactic, state) from
the theorem's first state, on one live `ProofSession`. For the state on top it
asks its sources for candidate tactics, runs every candidate through the
checker and keeps those that make progress:

- a candidate that fails or times out is dropped;
- one that leaves the goals as they were, or comes back to a state already on
  the path, is dropped;
- two that lead to the same open state are one suggestion (the better score);
  every candidate that closes the proof is kept.

What is kept is ranked: tactics that finish the proof first, then by score (the
source's log-probability). Sources are asked cheapest first (automation, tactic
memory, hammer) and each accepted suggestion is delivered at once, through a
callback or `stream()`, so a user sees the first ones while the costly
sources (a language model, loading or decoding in a background thread) are
still working. Nothing here prints: the terminal program is cli/suggest.py.

    engine = SuggestionEngine(session, theorem, sources=default_sources(model=None))
    for s in engine.suggest(on_suggestion=print): ...
    engine.apply(engine.suggest()[0])        # or engine.run_tactic("intros.")
    engine.undo()
    engine.search(budget_s=20)               # best-first search from the current state
    engine.proof_script()                    # "Proof.\n  ...\nQed."
"""

from __future__ import annotations

import concurrent.futures
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from proofsmith.checker.backend import Checker, ProofSession, SessionCrashed
from proofsmith.checker.types import (
    CheckResult,
    GoalState,
    NextState,
    ProofFinished,
    ProofTask,
    TacticError,
    TacticResult,
    TacticTimeout,
    Theorem,
)
from proofsmith.prover.generators.base import TacticCandidate, TacticGenerator, TacticRequest
from proofsmith.prover.premises import PremiseRetriever, RetrievedPremise

AUTOMATION = "automation"
MODEL = "model"
MEMORY = "tactic memory"
HAMMER = "hammer"
PREMISE = "premise"
TYPED = "typed"
SEARCH = "search"

# How long one candidate may run: a suggestion is worth little if it takes longer.
DEFAULT_TACTIC_TIMEOUT_S = 3.0
# Every candidate is first run with this timeout, so that one slow tactic (a `simpl` or `auto` lost
# in a big computation) does not hold up the others; those that time out are retried with the full
# timeout once every quick one is checked, while the list's budget lasts.
DEFAULT_QUICK_TIMEOUT_S = 0.3
DEFAULT_LIST_BUDGET_S = 15.0
DEFAULT_SHOWN = 10


class SuggestionError(ValueError):
    """A request the engine cannot serve (nothing to undo, a proof already finished)."""


@dataclass
class Source:
    """Where candidate tactics come from: a generator under a label, asked for `k` candidates.

    `loader` builds the generator on first use in a background thread (a
    language model takes seconds to load); until it is ready the source is
    skipped by `suggest(wait=False)` and waited for otherwise. `costly`
    sources are asked in a background thread while the cheap ones' candidates
    are being checked.
    """

    label: str
    generator: TacticGenerator | None = None
    k: int = 16
    loader: Callable[[], TacticGenerator] | None = None
    costly: bool = False
    uses_premises: bool = True
    # the label of one candidate, when a source has kinds (automation's premise tactics: "premise")
    relabel: Callable[[str], str] | None = None
    _future: concurrent.futures.Future | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.generator is None and self.loader is None:
            raise ValueError(f"source {self.label}: give a generator or a loader")
        if self.generator is not None:
            self.costly = self.costly or self.generator.costly

    def start_loading(self) -> None:
        """Begin building the generator in a background thread (no-op when built or started)."""
        if self.generator is None and self._future is None and self.loader is not None:
            self._future = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"load-{self.label}").submit(
                self.loader)

    def get(self, timeout_s: float | None = None) -> TacticGenerator | None:
        """The generator, waiting up to `timeout_s` for it (None: as long as it takes); None if not ready."""
        if self.generator is not None:
            return self.generator
        self.start_loading()
        if self._future is None:  # neither a generator nor a loader: __post_init__ refuses that
            raise ValueError(f"source {self.label}: give a generator or a loader")
        try:
            self.generator = self._future.result(timeout=timeout_s)
        except concurrent.futures.TimeoutError:
            return None
        return self.generator

    def label_of(self, tactic: str) -> str:
        return self.relabel(tactic) if self.relabel is not None else self.label

    @property
    def ready(self) -> bool:
        return self.generator is not None or (self._future is not None and self._future.done()
                                              and self._future.exception() is None)

    @property
    def failed(self) -> str | None:
        """Why the loader failed, or None."""
        if self._future is not None and self._future.done() and self._future.exception() is not None:
            return f"{type(self._future.exception()).__name__}: {self._future.exception()}"
        return None


@dataclass(frozen=True)
class Suggestion:
    """A candidate tactic that the checker ran from the current state, and what it left."""

    tactic: str
    state: GoalState  # the state after it
    score: float  # the source's log-probability (higher is better)
    sources: tuple[str, ...]
    time_s: float  # how long the checker took to run it
    finished: bool  # no goal is left: the proof is complete
    closes_goal: bool = False  # the goal in focus is closed (the others, if any, remain as they were)
    gives_up: bool = False  # it only turned the goal in focus into False (see `gives_up`)

    @property
    def source(self) -> str:
        return "+".join(self.sources)

    def to_json(self, rank: int | None = None) -> dict:
        record = {
            "tactic": self.tactic,
            "closes_goal": self.finished or self.closes_goal,
            "finishes_proof": self.finished,
            "goals": [] if self.finished else [g.pretty() for g in self.state.goals],
            "goals_text": "" if self.finished else self.state.text,
            "score": round(self.score, 4),
            "source": self.source,
            "time_s": round(self.time_s, 4),
        }
        if rank is not None:
            record = {"rank": rank, **record}
        return record


def rank(suggestions: Sequence[Suggestion]) -> list[Suggestion]:
    """Those that finish the proof first, then those that close the goal in focus, then by score,
    best first, those that only turn the goal into False last; fewer goals break ties."""
    return sorted(suggestions, key=lambda s: (not s.finished, not s.closes_goal, s.gives_up, -s.score,
                                              len(s.state.goals), s.time_s))


@dataclass(frozen=True)
class Step:
    tactic: str | None  # None for the first state
    state: GoalState
    source: str = ""  # where the tactic came from (typed, automation, ..., file)


@dataclass
class Timing:
    """How the last `suggest` went: seconds to the first suggestion and to the full list."""

    first_s: float | None = None
    full_s: float = 0.0
    candidates: int = 0
    checked: int = 0
    shown: int = 0
    per_source_s: dict[str, float] = field(default_factory=dict)
    skipped_sources: list[str] = field(default_factory=list)
    timed_out: list[str] = field(default_factory=list)  # candidates not retried: the list's budget was spent


@dataclass(frozen=True)
class StepOutcome:
    """What running a typed tactic did: the new step, or why there is none."""

    ok: bool
    message: str = ""
    finished: bool = False
    unchanged: bool = False


@dataclass(frozen=True)
class SearchOutcome:
    tactics: list[str] | None
    reason: str
    time_s: float


class SuggestionEngine:
    def __init__(
        self,
        session: ProofSession,
        theorem: Theorem,
        sources: Sequence[Source],
        retriever: PremiseRetriever | None = None,
        premises_k: int = 16,
        tactic_timeout_s: float = DEFAULT_TACTIC_TIMEOUT_S,
        state: GoalState | None = None,
        open_timeout_s: float | None = None,
        quick_timeout_s: float = DEFAULT_QUICK_TIMEOUT_S,
        list_budget_s: float = DEFAULT_LIST_BUDGET_S,
        preload: bool = True,
    ):
        """Open `theorem` on `session` (ValueError with Coq's message when its statement does not
        elaborate), or start from `state`, a state of that theorem on that session.

        `preload` starts loading the costly sources (a model) now; otherwise the first
        `suggest(wait=False)` starts them once the cheap sources' candidates are checked, so that
        loading (importing torch, transformers) does not slow the first suggestions down."""
        self.session = session
        self.theorem = theorem
        self.sources = list(sources)
        self.retriever = retriever
        self.premises_k = premises_k
        self.tactic_timeout_s = tactic_timeout_s
        self.quick_timeout_s = quick_timeout_s
        self.list_budget_s = list_budget_s
        root = state if state is not None else session.open(theorem, timeout_s=open_timeout_s)
        self.stack: list[Step] = [Step(None, root)]
        self.timing = Timing()
        self._cache: dict[tuple, list[Suggestion]] = {}
        self._premises: dict[str, list[RetrievedPremise]] = {}
        if preload:
            for source in self.sources:
                if source.costly:
                    source.start_loading()

    # ------------------------------------------------------------ the proof so far

    @property
    def state(self) -> GoalState:
        return self.stack[-1].state

    @property
    def finished(self) -> bool:
        return self.state.is_finished

    @property
    def tactics(self) -> list[str]:
        return [step.tactic for step in self.stack[1:] if step.tactic is not None]  # only the first has none

    def _key(self, state: GoalState) -> tuple:
        return (state.text, state.pending)

    def _on_path(self) -> set[tuple]:
        return {self._key(step.state) for step in self.stack}

    def push(self, tactic: str, state: GoalState, source: str) -> None:
        self.stack.append(Step(tactic, state, source))

    def apply(self, suggestion: Suggestion) -> None:
        """Take a suggestion: its state was computed when it was checked."""
        if self.finished:
            raise SuggestionError("the proof is already finished")
        self.push(suggestion.tactic, suggestion.state, suggestion.source)

    def run_tactic(self, tactic: str, source: str = TYPED, timeout_s: float | None = None) -> StepOutcome:
        """Run a tactic of the user's (checked, through the backend's guard); on success it is the next step."""
        tactic = normalize_tactic(tactic, self.theorem.backend)
        if not tactic:
            return StepOutcome(False, "empty tactic")
        if self.finished:
            return StepOutcome(False, "the proof is already finished")
        outcome = self._run(self.state, tactic, timeout_s or max(self.tactic_timeout_s, 10.0))
        if isinstance(outcome, (NextState, ProofFinished)):
            unchanged = self._key(outcome.state) == self._key(self.state)
            self.push(tactic, outcome.state, source)
            return StepOutcome(True, finished=isinstance(outcome, ProofFinished), unchanged=unchanged)
        return StepOutcome(False, outcome.message)

    def undo(self) -> Step:
        """Drop the last step; returns it."""
        if len(self.stack) == 1:
            raise SuggestionError("nothing to undo: this is the first state of the proof")
        return self.stack.pop()

    def _run(self, state: GoalState, tactic: str, timeout_s: float) -> TacticResult:
        try:
            return self.session.run(state, tactic, timeout_s=timeout_s)
        except SessionCrashed as exc:  # states replay: the session restarts on the next call
            return TacticError(f"checker crashed: {exc}")

    # ------------------------------------------------------------ premises

    def premises(self, k: int | None = None) -> list[RetrievedPremise]:
        """The premises the retriever finds for the current goals (none without a retriever)."""
        if self.retriever is None or self.finished:
            return []
        text = self.state.text
        if text not in self._premises:
            self._premises[text] = list(self.retriever.retrieve(text, self.theorem, self.premises_k))
        return self._premises[text][: k or self.premises_k]

    # ------------------------------------------------------------ suggestions

    def suggest(
        self,
        on_suggestion: Callable[[Suggestion, list[Suggestion]], None] | None = None,
        wait: bool = True,
        limit: int | None = None,
    ) -> list[Suggestion]:
        """Check every source's candidates for the current state; the kept ones, ranked.

        `on_suggestion(new, ranked_so_far)` is called as each suggestion is kept.
        `wait=False` skips sources whose generator is still loading once the
        cheap sources are done (the list is then not cached, and
        `timing.skipped_sources` names them). `limit` keeps the best `limit` (all by default).
        """
        kept: list[Suggestion] = []
        for suggestion in self.stream(wait=wait):
            kept = self._merge(kept, suggestion)
            if on_suggestion is not None:
                on_suggestion(suggestion, rank(kept))
        ranked = rank(kept)
        return ranked[:limit] if limit else ranked

    @staticmethod
    def _merge(kept: list[Suggestion], new: Suggestion) -> list[Suggestion]:
        """`stream` already merged duplicates; a replaced one (same tactic or state) is dropped here."""
        return [s for s in kept if s.tactic != new.tactic and (
            s.finished or new.finished or s.state.text != new.state.text or s.state.pending != new.state.pending
        )] + [new]

    def stream(self, wait: bool = True) -> Iterator[Suggestion]:
        """Each suggestion as it is kept. A later one with the tactic or open state of an earlier
        one replaces it (it has a better score or more sources); `suggest` resolves that."""
        state = self.state
        timing = Timing()
        self.timing = timing
        started = time.perf_counter()
        if state.is_finished:
            return
        cache_key = (self._key(state), tuple(step.tactic for step in self.stack[1:]))
        if cache_key in self._cache:
            for suggestion in self._cache[cache_key]:
                timing.first_s = timing.first_s if timing.first_s is not None else time.perf_counter() - started
                timing.shown += 1
                yield suggestion
            timing.full_s = time.perf_counter() - started
            return
        if not state.goals:  # goals remain, but none in focus: the next sentence is a bullet or brace
            return
        checker = _CandidateList(self, state, timing, started)
        yield from checker.run(self.sources, wait)
        if checker.complete:
            self._cache[cache_key] = rank(checker.kept())


    # ------------------------------------------------------------ search and the whole proof

    def search(
        self,
        budget_s: float = 30.0,
        generator: TacticGenerator | None = None,
        tactics_per_expansion: int = 24,
    ) -> SearchOutcome:
        """Best-first search (prover.search) from the current state; a proof found is re-checked as a
        whole and its steps are pushed. `generator`: default, a mixture of the ready sources."""
        from proofsmith.prover.base import Budget
        from proofsmith.prover.search import BestFirstSearchProver

        t0 = time.perf_counter()
        if self.finished:
            return SearchOutcome([], "the proof is already finished", 0.0)
        generator = generator or self.search_generator()
        prover = BestFirstSearchProver(generator, retriever=self.retriever, premises_k=self.premises_k,
                                       tactics_per_expansion=tactics_per_expansion)
        checker = _FromStateChecker(self.session, self.state, self.tactics)
        budget = Budget(wall_s=budget_s, tactics_per_expansion=tactics_per_expansion,
                        tactic_timeout_s=min(self.tactic_timeout_s * 2, max(budget_s / 4, 1.0)))
        outcome = prover.search(self.theorem, checker, budget)
        result = outcome.result
        if not result.proved or result.proof is None:
            return SearchOutcome(None, result.reason or result.verdict.value, time.perf_counter() - t0)
        tactics = [t for t in result.proof.split("\n") if t.strip()]
        for tactic in tactics:
            step = self.run_tactic(tactic, source=SEARCH)
            if not step.ok:  # the whole proof was checked: a step that fails here is a bug, not the user's
                return SearchOutcome(None, f"replaying the proof search found failed at {tactic!r}: {step.message}",
                                     time.perf_counter() - t0)
        return SearchOutcome(tactics, "proof found", time.perf_counter() - t0)

    def search_generator(self) -> TacticGenerator:
        """The sources that are ready, mixed (prover.generators.mixture), cheap ones asked first."""
        from proofsmith.prover.generators.mixture import MixtureGenerator

        parts = []
        for source in self.sources:
            generator = source.generator if source.ready else None
            if generator is None and source.ready:
                generator = source.get(0)
            if generator is not None:
                parts.append((generator, 1.0, source.k))
        if len(parts) == 1:
            return parts[0][0]
        return MixtureGenerator(parts)

    def proof_script(self, indent: str = "  ") -> str:
        """The proof so far, ready to paste: `Proof.` ... `Qed.` (Coq), `by` ... (Lean)."""
        tactics = self.tactics
        if self.theorem.backend == "lean":
            return "by\n" + "\n".join(indent + t for t in tactics)
        return "\n".join(["Proof.", *(indent + " ".join(t.split()) for t in tactics), "Qed."])

    def check(self, timeout_s: float | None = None) -> CheckResult:
        """Judge the whole proof through the backend's guard (what `proofsmith check` does)."""
        return self.session.check(self.theorem, "\n".join(self.tactics), timeout_s=timeout_s)


def normalize_tactic(text: str, backend: str = "coq") -> str:
    """A typed tactic as the checker takes it: Coq's sentences end with a period (bullets and braces excepted)."""
    text = text.strip()
    if backend != "coq" or not text:
        return text
    if text.endswith(".") or text.endswith(("{", "}")) or set(text) <= set("-+*"):
        return text
    return text + "."


class _CandidateList:
    """The suggestion list of one state while it is built: each source's candidates are run from the
    state, failures and repeats dropped, duplicates merged (same tactic: one more source; same
    state: the better score), and those that timed out at the quick timeout retried at the end."""

    def __init__(self, engine: SuggestionEngine, state: GoalState, timing: Timing, started: float):
        self.engine = engine
        self.state = state
        self.timing = timing
        self.started = started
        self.on_path = engine._on_path()
        self.premises = engine.premises() if engine.retriever is not None else None
        self.by_tactic: dict[str, Suggestion] = {}
        self.by_state: dict[tuple, Suggestion] = {}
        self.rejected: set[str] = set()
        self.slow: dict[str, tuple[tuple[str, ...], float]] = {}  # timed out at quick_s: (sources, best score)
        self.quick_s = min(engine.quick_timeout_s, engine.tactic_timeout_s)
        self.complete = True  # every source answered: the list may be cached

    def kept(self) -> list[Suggestion]:
        return list(self.by_tactic.values())

    def run(self, sources: Sequence[Source], wait: bool) -> Iterator[Suggestion]:
        """Cheap sources first; costly ones (a model) decode in background threads meanwhile."""
        cheap = [s for s in sources if not s.costly]
        costly = [s for s in sources if s.costly]
        pool = concurrent.futures.ThreadPoolExecutor(max(1, len(costly)), thread_name_prefix="suggest")
        try:
            futures: dict[concurrent.futures.Future, Source] = {}
            deferred = []
            for source in costly:
                if not wait and not source.ready and source.failed is None:
                    deferred.append(source)  # still loading: asked after the cheap ones if ready by then
                    continue
                futures[pool.submit(self._propose_when_loaded, source)] = source
            for source in cheap:
                try:
                    candidates = self._propose_when_loaded(source)
                except Exception as exc:  # a memory that fails to load: the other sources still count
                    self._skipped(source, f"{type(exc).__name__}: {exc}")
                    continue
                yield from self._consider(source, candidates)
            for source in deferred:
                source.start_loading()
                if source.ready:
                    futures[pool.submit(self._propose_when_loaded, source)] = source
                else:
                    self._skipped(source, "still loading")
            for future in concurrent.futures.as_completed(futures):
                source = futures[future]
                try:
                    candidates = future.result()
                except Exception as exc:  # a model that fails to load or decode: the others still count
                    self._skipped(source, f"{type(exc).__name__}: {exc}")
                    continue
                yield from self._consider(source, candidates)
            yield from self._retry_slow()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        self.timing.shown = len(self.by_tactic)
        self.timing.full_s = time.perf_counter() - self.started

    def _skipped(self, source: Source, why: str) -> None:
        self.timing.skipped_sources.append(f"{source.label} ({why})")
        self.complete = False

    def _propose_when_loaded(self, source: Source) -> list[TacticCandidate]:
        generator = source.get()
        assert generator is not None  # get() without a timeout waits for the loader
        premises = [self.premises] if self.premises and source.uses_premises else None
        started = time.perf_counter()
        try:
            return generator.propose(TacticRequest([self.state], source.k, premises))[0]
        finally:
            self.timing.per_source_s[source.label] = round(time.perf_counter() - started, 4)

    def _consider(self, source: Source, candidates: list[TacticCandidate]) -> Iterator[Suggestion]:
        for tactic, logprob in candidates:
            tactic = tactic.strip()
            self.timing.candidates += 1
            if not tactic or tactic in self.rejected:
                continue
            label = source.label_of(tactic)
            if tactic in self.slow:  # timed out once already: it will be retried with both sources
                labels, score = self.slow[tactic]
                self.slow[tactic] = (labels + (label,) if label not in labels else labels, max(score, logprob))
                continue
            if tactic in self.by_tactic:  # already kept: note the second source, keep the best score
                old = self.by_tactic[tactic]
                if label in old.sources:
                    continue
                new = replace(old, score=max(old.score, logprob), sources=old.sources + (label,))
                self.by_tactic[tactic] = new
                if not new.finished:
                    self.by_state[self.engine._key(new.state)] = new
                yield new
                continue
            new = self._check(tactic, logprob, (label,), self.quick_s)
            if new is not None:
                yield new

    def _check(self, tactic: str, logprob: float, labels: tuple[str, ...], timeout_s: float) -> Suggestion | None:
        engine, state = self.engine, self.state
        started = time.perf_counter()
        outcome = engine._run(state, tactic, timeout_s)
        elapsed = time.perf_counter() - started
        self.timing.checked += 1
        if isinstance(outcome, TacticTimeout) and timeout_s < engine.tactic_timeout_s:
            self.slow[tactic] = (labels, logprob)  # retried with the full timeout once the quick ones are done
            return None
        if not isinstance(outcome, (NextState, ProofFinished)):
            self.rejected.add(tactic)
            return None
        finished = isinstance(outcome, ProofFinished)
        key = engine._key(outcome.state)
        if not finished and key in self.on_path:  # unchanged, or back to a state on the path
            self.rejected.add(tactic)
            return None
        closes = finished or (len(outcome.state.goals) < len(state.goals)
                              and outcome.state.goals == state.goals[1:])
        new = Suggestion(tactic, outcome.state, logprob, labels, elapsed, finished, closes,
                         gives_up=not finished and gives_up(state, outcome.state))
        if not finished and key in self.by_state:
            old = self.by_state[key]
            if old.score >= logprob:
                self.rejected.add(tactic)
                return None
            del self.by_tactic[old.tactic]
            self.rejected.add(old.tactic)
        self.by_tactic[tactic] = new
        if not finished:
            self.by_state[key] = new
        if self.timing.first_s is None:
            self.timing.first_s = time.perf_counter() - self.started
        return new

    def _retry_slow(self) -> Iterator[Suggestion]:
        """The candidates that timed out at quick_s, best first, with the full timeout, within the list budget."""
        engine = self.engine
        for tactic, (labels, logprob) in sorted(self.slow.items(), key=lambda item: -item[1][1]):
            if time.perf_counter() - self.started + engine.tactic_timeout_s > engine.list_budget_s:
                self.timing.timed_out.append(tactic)
                continue
            del self.slow[tactic]
            new = self._check(tactic, logprob, labels, engine.tactic_timeout_s)
            if new is not None:
                yield new


def gives_up(before: GoalState, after: GoalState) -> bool:
    """Whether a step only turned the goal in focus into `False` (exfalso and the like): no progress
    unless a hypothesis is contradictory, so it ranks below steps that make some."""
    if not before.goals or not after.goals or len(after.goals) != len(before.goals):
        return False
    target = " ".join(after.goals[0].target.split())
    return target == "False" and " ".join(before.goals[0].target.split()) != "False"


# ------------------------------------------------------------ search from a state


class _FromStateSession(ProofSession):
    """The engine's session seen by best-first search: `open` gives the current state and a whole
    proof is checked with the steps that lead to that state in front of it."""

    def __init__(self, session: ProofSession, state: GoalState, prefix: list[str]):
        self._session = session
        self._state = state
        self._prefix = prefix
        self.info = session.info
        self.uses = 0

    def open(self, theorem: Theorem, timeout_s: float | None = None) -> GoalState:
        return self._state

    def run(self, state: GoalState, tactic: str, timeout_s: float | None = None) -> TacticResult:
        return self._session.run(state, tactic, timeout_s)

    def check(self, theorem: Theorem, proof: str, timeout_s: float | None = None) -> CheckResult:
        return self._session.check(theorem, "\n".join([*self._prefix, proof]), timeout_s)

    @property
    def header(self) -> str | None:
        return self._session.header

    @property
    def alive(self) -> bool:
        return self._session.alive

    def close(self) -> None:  # the engine owns the real session
        pass


class _FromStateChecker(Checker):
    def __init__(self, session: ProofSession, state: GoalState, prefix: list[str]):
        self._session = _FromStateSession(session, state, prefix)
        self.info = session.info
        self._lock = threading.Lock()

    def check_batch(self, tasks, on_result=None):
        results = []
        for index, task in enumerate(tasks):
            assert isinstance(task, ProofTask)
            result = self._session.check(task.theorem, task.proof, task.timeout_s)
            results.append(result)
            if on_result is not None:
                on_result(index, result)
        return results

    @contextmanager
    def session(self):
        with self._lock:
            yield self._session

    def close(self) -> None:
        pass


# ------------------------------------------------------------ the default sources


def automation_source(k: int = 32) -> Source:
    """Coq's (or Lean's) automation and, with a retriever, apply/rewrite/exact with the top premises
    (prover.generators.model_free); those are labelled "premise"."""
    from proofsmith.prover.generators.model_free import ModelFreeGenerator

    # the automation tactics take no premise; the premise tactics are apply/rewrite/exact/rw with one
    return Source(AUTOMATION, ModelFreeGenerator(), k=k,
                  relabel=lambda tactic: PREMISE if tactic.split()[0] in ("apply", "rewrite", "exact", "rw")
                  and len(tactic.split()) > 1 else AUTOMATION)


def hammer_source() -> Source:
    """CoqHammer's reconstruction tactics (the checker's prelude must load Hammer.Tactics)."""
    from proofsmith.prover.generators.model_free import ModelFreeGenerator
    from proofsmith.prover.registry import HAMMER_AUTOMATION

    return Source(HAMMER, ModelFreeGenerator(automation=HAMMER_AUTOMATION, premise_share=0.0),
                  k=len(HAMMER_AUTOMATION), uses_premises=False)


# A suggestion list waits for the model's beam: 4 beams of at most 32 tokens (a tactic is rarely
# longer) take 1.7-3.7 s per miniF2F goal with SmolLM2-135M on 2 shared cores, 8 x 64 take 3-13 s.
MODEL_BEAMS = 4
MODEL_TACTIC_TOKENS = 32


def model_source(model: str | None = None, k: int = MODEL_BEAMS, **options) -> Source:
    """A language model (None: the default SmolLM2; CTranslate2 int8 on CPU), loaded in the background."""
    from proofsmith.prover.generators import make_generator

    options.setdefault("max_tactic_tokens", MODEL_TACTIC_TOKENS)
    return Source(MODEL, loader=lambda: make_generator("auto", model, **options), k=k, costly=True)


def memory_source(trace_dir: str, k: int = 8) -> Source:
    """Tactics that worked on similar goals before (prover.tactic_memory): a saved memory folder, or a
    traced library (`<trace_dir>/<split>/train.json`) whose memory is built or read from the cache.
    The encoder takes seconds to load: it loads in the background, like a model."""
    def load() -> TacticGenerator:
        from pathlib import Path

        from proofsmith.prover.generators.tactic_memory import TacticMemoryGenerator
        from proofsmith.prover.tactic_memory import TacticMemory

        if (Path(trace_dir) / "meta.json").is_file():
            memory = TacticMemory.load(trace_dir)
        else:
            memory = TacticMemory.from_trace(trace_dir)
        return TacticMemoryGenerator(memory)

    return Source(MEMORY, loader=load, k=k, costly=True, uses_premises=False)


def project_memory_source(memory, k: int = 8) -> Source:
    """Tactics of similar states in a memory built already (the user's project: cli.project_knowledge),
    asked with the cheap sources."""
    from proofsmith.prover.generators.tactic_memory import TacticMemoryGenerator

    return Source(MEMORY, TacticMemoryGenerator(memory, online=False), k=k, uses_premises=False)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between ranks: for the latency benchmark."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100
    low = int(math.floor(position))
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
