"""Best-first proof search over real checker states.

The frontier is ordered by cumulative log-probability (the sum of the
generator's log-probabilities along the path, as in ReProver). Each expansion
retrieves premises for the goal, asks the generator for up to k tactics and
runs each one in the checker's `ProofSession`; results that repeat a known
goal text join the existing node instead of opening a new one. A generator
may come in stages (`TacticGenerator.stages`: automation before the model);
a node closed by an early stage never waits for a later one.

Work that cannot help is not done (the counts go into `result.extra`):
- `no_ops`: a tactic whose resulting goals print exactly as its node's own
  (`auto.` that does nothing) adds neither a node nor an edge, only a count;
- `duplicates_skipped`: a (goal text, tactic) pair is run at most once per
  search (nodes are shared by goal text, so this also covers a later stage or
  a generator proposing a tactic again);
- `timeouts_retried`: tactic timeouts grow from cheap to expensive. Every
  tactic is first run with `first_try_timeout_s` (1 s by default); one that
  times out is put back on the frontier as a retry with the full
  `budget.tactic_timeout_s`, at the priority its child would have had (the
  node's cumulative log-probability plus the tactic's). Cheap siblings and
  better-scored nodes thus go first, yet a proof that needs the long timeout
  is still found in best-first order; a node with a retry pending is not
  failed, and retries are still run after the expansion budget is spent
  (they belong to expansions already paid for) until the wall budget ends.

Limits (wall time, expansions) are checked between tactics, never in the
middle of recording a result, so a proof found in the step where a limit
fires is kept. A proof found by search is checked as a whole at once, by the
session's guarded whole-proof check (`ProofSession.check`, the soundness
guard); only that verdict can make the result "proved". A proof it rejects
(a remembered `fix NAME 1.` whose goal `auto.` then closed with the unguarded
hypothesis NAME: "Recursive definition ... is ill-formed") is not the end of
the search: its finished node becomes a dead end (`SearchTree.reject`) and
search goes on with the candidates and frontier it had (`rejected_finishes`
counts them). Where the session offers `guarded(state)` (Coq's `Guarded.` at
that state: the complaint, or None), a state reached through a `fix`/`cofix`
is checked for guardedness as soon as the tactic runs, so an unguarded branch
dies at once instead of at its end.

Sampled search (`sample_temperature` T > 0): repeated attempts at one
statement explore differently, as STP's empirical pass rates need (a
deterministic generator such as the tactic memory otherwise proves a statement
in every attempt or in none). Each search draws Gumbel noise from
`random.Random(budget.seed)` (attempt k of `prove` has seed `budget.seed + k`)
and orders by score + T * Gumbel: the candidates of an expansion are tried in
that order, and a new node enters the frontier at its cumulative
log-probability plus its own noise (a Gumbel-top-k sample of the best-first
order). The tree keeps the true log-probabilities. T = 0 (the default) is
the deterministic search: no noise is drawn and the seed changes nothing.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Any

from proofsmith.checker.backend import Checker, ProofSession, SessionCrashed
from proofsmith.checker.types import (
    CheckResult,
    NextState,
    ProofFinished,
    TacticError,
    TacticResult,
    TacticTimeout,
    Theorem,
    Verdict,
)
from proofsmith.prover.base import AttemptOutcome, Budget, Prover, ProverResult
from proofsmith.prover.generators.base import TacticCandidate, TacticGenerator, TacticRequest
from proofsmith.prover.premises import PremiseRetriever
from proofsmith.prover.search_tree import Edge, InternalNode, SearchTree, Status
from proofsmith.prover.stopwatch import Stopwatch

# A tactic never gets less time than this, even when the wall budget is
# nearly spent: a timeout that kills the checker process costs more.
MIN_TACTIC_TIMEOUT_S = 0.25
# Tactics that crash the checker process before a search gives up with an error.
MAX_CRASHES = 3
# The timeout of a tactic's first run; one that times out is retried later with
# the budget's full tactic timeout (see the module docstring).
FIRST_TRY_TIMEOUT_S = 1.0
# What search counts of the work it avoided or deferred (in result.extra).
WASTE_COUNTS = ("no_ops", "duplicates_skipped", "timeouts_retried", "rejected_finishes", "unguarded")
# What Coq's `Guarded.` says of a fixpoint whose body does not yet take its structural argument.
_NOT_ENOUGH_ABSTRACTIONS = "Not enough abstractions"
# A tactic sentence that starts a (co)fixpoint: the proof term below it must stay guarded.
_FIXPOINT_TACTIC = re.compile(r"(?:^|[;\[|(]\s*|\bthen\s+)(?:co)?fix\b")


@dataclass(eq=False)
class TimeoutRetry:
    """A tactic that timed out on its first, short try, waiting on the frontier for the full timeout."""

    node: InternalNode
    tactic: str
    logprob: float

    @property
    def priority(self) -> float:
        return self.node.cumulative_logprob + self.logprob


@dataclass
class SearchOutcome:
    result: ProverResult
    tree: SearchTree | None


class BestFirstSearchProver(Prover):
    name = "search"

    def __init__(
        self,
        generator: TacticGenerator,
        retriever: PremiseRetriever | None = None,
        premises_k: int = 16,
        expansion_batch: int = 1,
        tactics_per_expansion: int | None = None,
        first_try_timeout_s: float | None = FIRST_TRY_TIMEOUT_S,
        sample_temperature: float = 0.0,
    ):
        """`tactics_per_expansion`, when given, overrides the budget's (a cheap
        generator such as the model-free one can afford more candidates).
        `first_try_timeout_s` is the short timeout of every tactic's first run
        (None, or one not below the budget's tactic timeout: a single run with
        the full timeout). `sample_temperature` > 0 samples the search order with
        seeded Gumbel noise (see the module docstring); 0 is deterministic."""
        if isinstance(sample_temperature, bool) or not (
                isinstance(sample_temperature, (int, float)) and math.isfinite(sample_temperature)
                and sample_temperature >= 0):
            raise ValueError(f"sample_temperature must be a number at least 0, got {sample_temperature!r}")
        if expansion_batch < 1:
            raise ValueError(f"expansion_batch must be at least 1, got {expansion_batch}")
        if first_try_timeout_s is not None and first_try_timeout_s <= 0:
            raise ValueError(f"first_try_timeout_s must be positive, got {first_try_timeout_s}")
        self.first_try_timeout_s = first_try_timeout_s
        self.sample_temperature = float(sample_temperature)
        self.generator = generator
        self.retriever = retriever
        self.premises_k = premises_k
        self.expansion_batch = expansion_batch
        self.tactics_per_expansion = tactics_per_expansion
        self.model = generator.model

    def describe(self) -> dict:
        return {
            "prover": self.name,
            "model": self.model,
            "generator": self.generator.name,
            "retriever": type(self.retriever).__name__ if self.retriever is not None else None,
        }

    def prove(self, theorem: Theorem, checker: Checker, budget: Budget) -> ProverResult:
        """`budget.attempts` independent searches sharing the wall budget equally (pass@k)."""
        if budget.attempts == 1:
            return self.search(theorem, checker, budget).result
        per_attempt = replace(budget, wall_s=budget.wall_s / budget.attempts, attempts=1)
        # A generator learns the proof after the last attempt, so no attempt sees another's proof.
        outcomes = [
            self.search(theorem, checker, replace(per_attempt, seed=budget.seed + i), learn=False)
            for i in range(budget.attempts)
        ]
        proved = next((o.tree for o in outcomes if o.result.proved and o.tree is not None), None)
        if proved is not None:
            self.generator.learn(theorem.name, proved.proof_steps() or [])
        return combine_attempts(theorem, [o.result for o in outcomes])

    def search(self, theorem: Theorem, checker: Checker, budget: Budget, learn: bool = True) -> SearchOutcome:
        """One search within `budget.wall_s`; the outcome keeps the tree for export. With `learn`,
        the generator learns the proof found (`TacticGenerator.learn`)."""
        if self.tactics_per_expansion is not None:
            budget = replace(budget, tactics_per_expansion=self.tactics_per_expansion)
        self.generator.start(theorem)
        start = time.perf_counter()
        deadline = start + budget.wall_s
        clock = Stopwatch()
        self._crashes = 0
        self._pairs_run: set[tuple[str, str]] = set()
        self._retries_pending: dict[int, int] = {}  # node id -> its timed-out tactics not yet retried
        self._below_fixpoint: set[int] = set()  # ids of nodes whose state's path runs a fix/cofix tactic
        self._accepted: tuple[str, CheckResult] | None = None  # the proof the whole-proof check accepted
        self._last_rejection = ""
        self._theorem = theorem
        self._noise = random.Random(budget.seed) if self.sample_temperature > 0 else None
        tree: SearchTree | None = None
        stats = {"expansions": 0, "tactics": 0, **{name: 0 for name in WASTE_COUNTS}}
        stop = "frontier exhausted"
        proposing = self.generator.timings()
        try:
            with ExitStack() as lease:
                lease.callback(lambda: clock.add_since(self.generator.timings(), proposing))
                with clock.timing("checker"):  # waiting for a session and starting it is checker time
                    session = lease.enter_context(checker.session())
                    calls = session.call_seconds()
                    lease.callback(lambda: clock.add_since(_prefixed("checker_", session.call_seconds()),
                                                           _prefixed("checker_", calls)))
                    root = session.open(theorem, timeout_s=max(budget.tactic_timeout_s, 1.0))
                tree = SearchTree(root)
                stop = self._run(theorem, session, tree, budget, deadline, clock, stats)
        except ValueError as exc:  # the statement does not elaborate
            return SearchOutcome(self._result(theorem, Verdict.ERROR, start, clock, str(exc), tree, stats), tree)
        except SessionCrashed as exc:
            return SearchOutcome(
                self._result(theorem, Verdict.ERROR, start, clock, f"checker crashed: {exc}", tree, stats), tree
            )

        accepted: tuple[str, CheckResult] | None = self._accepted
        if accepted is None:
            # Like the portfolio prover: TIMEOUT when the wall budget ran out, FAILED otherwise.
            verdict = Verdict.TIMEOUT if stop.startswith("wall-clock") else Verdict.FAILED
            if stats["rejected_finishes"]:
                stop += (f"; the checker rejected {stats['rejected_finishes']} proof(s) search found, "
                         f"the last: {self._last_rejection}")
            return SearchOutcome(self._result(theorem, verdict, start, clock, stop, tree, stats), tree)
        proof, check = accepted
        result = self._result(theorem, Verdict.PROVED, start, clock, "", tree, stats, proof)
        result.check = check
        # which generator (a mixture's part) proposed each step of the proof
        result.extra["proof_sources"] = [self.generator.source_of(goal, tactic) for goal, tactic in tree.proof_steps() or []]
        if learn:
            # A generator that learns (the tactic memory) gets the proof at once, for the next theorem.
            self.generator.learn(theorem.name, tree.proof_steps() or [])
        return SearchOutcome(result, tree)

    def _run(
        self,
        theorem: Theorem,
        session: ProofSession,
        tree: SearchTree,
        budget: Budget,
        deadline: float,
        clock: Stopwatch,
        stats: dict[str, int],
    ) -> str:
        """Expand nodes (and retry timed-out tactics) until a proof, an empty frontier or a limit; returns why it stopped."""
        order = itertools.count()
        frontier: list[tuple[float, int, InternalNode | TimeoutRetry]] = [
            (-tree.root.priority, next(order), tree.root)
        ]
        exhausted = "frontier exhausted"
        while frontier:
            if time.perf_counter() >= deadline:
                return f"wall-clock budget of {budget.wall_s:g} s spent after {stats['expansions']} expansions"
            if budget.expansions is not None and stats["expansions"] >= budget.expansions:
                exhausted = f"expansion budget of {budget.expansions} spent"
                # No more nodes are expanded, but the retries of expansions already made still run.
                retries = [entry for entry in frontier if isinstance(entry[2], TimeoutRetry)]
                if not retries:
                    return exhausted
                if len(retries) < len(frontier):
                    frontier[:] = retries
                    heapq.heapify(frontier)
            if isinstance(retry := frontier[0][2], TimeoutRetry):
                heapq.heappop(frontier)
                self._retry(session, tree, retry, budget, deadline, clock, frontier, order, stats)
                if self._proof_accepted(session, tree, budget, clock, stats):
                    return "proof found"
                if tree.root.status is Status.FAILED:
                    return "every branch failed"
                continue
            batch: list[InternalNode] = []
            while frontier and len(batch) < self.expansion_batch and isinstance(node := frontier[0][2], InternalNode):
                heapq.heappop(frontier)
                if node.status is Status.OPEN and not node.expanded:
                    batch.append(node)
            if budget.expansions is not None:
                batch = batch[: budget.expansions - stats["expansions"]]
            if not batch:
                continue
            seed = budget.seed * 1_000_003 + stats["expansions"]
            stats["expansions"] += len(batch)
            premises: dict[int, list] = {}
            if self.retriever is not None and self.generator.uses_premises:
                with clock.timing("retrieval"):
                    premises = {id(n): self.retriever.retrieve(n.state.text, theorem, self.premises_k) for n in batch}
            for stage in self.generator.stages():
                todo = [n for n in batch if n.status is Status.OPEN]
                if not todo:
                    break
                with clock.timing("model"):
                    suggestions = stage.propose(TacticRequest(
                        [n.state for n in todo],
                        budget.tactics_per_expansion,
                        [premises[id(n)] for n in todo] if premises else None,
                        seed=seed,
                        time_limit_s=max(deadline - time.perf_counter(), 0.01),
                    ))
                for node, candidates in zip(todo, suggestions):
                    for tactic, logprob in self._sampled_order(candidates):
                        pair = (node.state.text, tactic.strip())
                        if pair in self._pairs_run:
                            stats["duplicates_skipped"] += 1
                            continue
                        remaining = deadline - time.perf_counter()
                        if remaining <= 0:
                            # The node stays open (not expanded to the end): it has not failed.
                            return f"wall-clock budget of {budget.wall_s:g} s spent after {stats['expansions']} expansions"
                        self._pairs_run.add(pair)
                        first_try = self.first_try_timeout_s is not None and (
                            self.first_try_timeout_s < budget.tactic_timeout_s
                        )
                        limit = self.first_try_timeout_s if first_try and self.first_try_timeout_s else budget.tactic_timeout_s
                        outcome = self._try(
                            session, tree, node, tactic, logprob, min(limit, max(remaining, MIN_TACTIC_TIMEOUT_S)),
                            clock, frontier, order, stats, retry_timeout=first_try,
                        )
                        stats["tactics"] += 1
                        if isinstance(outcome, TacticTimeout) and first_try:
                            retry = TimeoutRetry(node, tactic, logprob)
                            self._retries_pending[node.id] = self._retries_pending.get(node.id, 0) + 1
                            heapq.heappush(frontier, (-retry.priority, next(order), retry))
                        if self._proof_accepted(session, tree, budget, clock, stats):
                            return "proof found"
            for node in batch:
                if not self._retries_pending.get(node.id):
                    node.finish_expansion()
                elif node.out_edges is None:
                    node.out_edges = []  # expanded, its last tactics waiting for their retries
            if tree.root.status is Status.FAILED:
                return "every branch failed"
        return exhausted

    def _gumbel(self) -> float:
        """T times a standard Gumbel draw from this search's seeded stream (0.0 at T = 0, drawing nothing)."""
        if self._noise is None:
            return 0.0
        u = self._noise.random() or 5e-324  # random() may return 0.0; log(0) is undefined
        return -self.sample_temperature * math.log(-math.log(u))

    def _sampled_order(self, candidates: list[TacticCandidate]) -> list[TacticCandidate]:
        """An expansion's candidates in the order they are tried: as proposed at T = 0, else by
        log-probability plus T * Gumbel noise (ties keep the proposed order)."""
        if self._noise is None:
            return candidates
        keyed = [(c[1] + self._gumbel(), i, c) for i, c in enumerate(candidates)]
        return [c for _, _, c in sorted(keyed, key=lambda k: (-k[0], k[1]))]

    def _proof_accepted(
        self, session: ProofSession, tree: SearchTree, budget: Budget, clock: Stopwatch, stats: dict[str, int]
    ) -> bool:
        """While the tree shows a proof, check it whole; True once one is accepted. A rejected proof's
        finished node becomes a dead end and the next shortest proof (if any) is checked in turn."""
        while tree.root.status is Status.PROVED:
            end = tree.proof_end()
            tactics = tree.proof()
            assert end is not None and tactics is not None
            proof = "\n".join(tactics)
            # The whole-proof check may run past the wall budget: a proof in hand is never dropped.
            with clock.timing("checker"):
                check = session.check(self._theorem, proof, timeout_s=max(budget.tactic_timeout_s * 3, 10.0))
            if check.proved:
                self._accepted = (proof, check)
                return True
            stats["rejected_finishes"] += 1
            self._last_rejection = check.reason or check.verdict.value
            tree.reject(end, f"the checker rejected the proof: {self._last_rejection}")
        return False

    def _unguarded(self, session: ProofSession, node: InternalNode, tactic: str, outcome: TacticResult) -> str | None:
        """Coq's complaint when the state `tactic` led to from `node` is below a fix/cofix and not guarded."""
        below = node.id in self._below_fixpoint or bool(_FIXPOINT_TACTIC.search(tactic.strip()))
        guarded = getattr(session, "guarded", None)
        if not below or guarded is None or not isinstance(outcome, (NextState, ProofFinished)):
            return None
        complaint = guarded(outcome.state)
        if complaint is None or (isinstance(outcome, NextState) and _NOT_ENOUGH_ABSTRACTIONS in complaint):
            return None  # a body still a hole (right after `fix IH 2.`) gets its abstractions from later steps
        return f"not guarded: {complaint}"

    def _retry(
        self,
        session: ProofSession,
        tree: SearchTree,
        retry: TimeoutRetry,
        budget: Budget,
        deadline: float,
        clock: Stopwatch,
        frontier: list,
        order: Iterator[int],
        stats: dict[str, int],
    ) -> None:
        """Run a tactic that timed out on its first try again with the full timeout; its node may then be done."""
        node = retry.node
        if node.status is Status.OPEN:
            remaining = deadline - time.perf_counter()
            timeout = min(budget.tactic_timeout_s, max(remaining, MIN_TACTIC_TIMEOUT_S))
            self._try(session, tree, node, retry.tactic, retry.logprob, timeout, clock, frontier, order, stats)
            stats["tactics"] += 1
            stats["timeouts_retried"] += 1
        self._retries_pending[node.id] -= 1
        if not self._retries_pending[node.id]:
            node.finish_expansion()

    def _try(
        self,
        session: ProofSession,
        tree: SearchTree,
        node: InternalNode,
        tactic: str,
        logprob: float,
        timeout: float,
        clock: Stopwatch,
        frontier: list,
        order: Iterator[int],
        stats: dict[str, int],
        retry_timeout: bool = False,
    ) -> TacticResult:
        """Run one tactic from `node` and record what it led to.

        A tactic that leaves the goals as they were is only counted (no
        node, no edge); with `retry_timeout`, a timeout is left to the caller
        to retry, not recorded as a failed edge.
        """
        t0 = time.perf_counter()
        try:
            with clock.timing("checker"):
                outcome = session.run(node.state, tactic, timeout_s=timeout)
        except SessionCrashed as exc:
            # The session restarts itself on the next call (states are replayable),
            # so one tactic that kills the prover (memory cap, stack overflow) only
            # closes its own branch; repeated crashes end the search.
            self._crashes += 1
            if self._crashes > MAX_CRASHES:
                raise
            outcome = TacticError(f"checker crashed: {exc}")
        if isinstance(outcome, (NextState, ProofFinished)) and not (
            isinstance(outcome, NextState) and outcome.state.text == node.state.text
        ):
            with clock.timing("checker"):
                complaint = self._unguarded(session, node, tactic, outcome)
            if complaint is not None:
                stats["unguarded"] += 1
                outcome = TacticError(complaint)
        elapsed = time.perf_counter() - t0
        if isinstance(outcome, ProofFinished):
            dst = tree.finished(outcome.state)
        elif isinstance(outcome, NextState):
            if outcome.state.text == node.state.text:
                stats["no_ops"] += 1
                return outcome
            known = tree.lookup(outcome.state)
            if known is not None:
                dst = known
            else:
                dst = tree.internal(outcome.state, node.cumulative_logprob + logprob, node.depth + 1)
                if node.id in self._below_fixpoint or _FIXPOINT_TACTIC.search(tactic.strip()):
                    self._below_fixpoint.add(dst.id)
                heapq.heappush(frontier, (-(dst.priority + self._gumbel()), next(order), dst))
        elif isinstance(outcome, TacticTimeout):
            if retry_timeout:
                return outcome
            dst = tree.error(outcome.message, timed_out=True)
        else:
            assert isinstance(outcome, TacticError)
            dst = tree.error(outcome.message)
        node.add_edge(Edge(tactic, logprob, node, dst, elapsed))
        return outcome

    def _result(
        self,
        theorem: Theorem,
        verdict: Verdict,
        start: float,
        clock: Stopwatch,
        reason: str,
        tree: SearchTree | None,
        stats: dict[str, int],
        proof: str | None = None,
    ) -> ProverResult:
        elapsed = time.perf_counter() - start
        extra: dict[str, Any] = dict(stats)
        if tree is not None:
            extra["tree"] = tree.size()
        return ProverResult(
            theorem=theorem.name,
            verdict=verdict,
            proof=proof,
            attempts=[AttemptOutcome(verdict, proof, elapsed)],
            time_s=elapsed,
            timings=clock.rounded(),
            reason=reason,
            extra=extra,
        )


def _prefixed(prefix: str, seconds: dict[str, float]) -> dict[str, float]:
    return {prefix + name: t for name, t in seconds.items()}


def combine_attempts(theorem: Theorem, results: list[ProverResult]) -> ProverResult:
    """One result for K attempts: proved if any attempt was, with every attempt recorded."""
    proved = next((r for r in results if r.proved), None)
    first = proved or results[-1]
    timings: dict[str, float] = {}
    extra: dict[str, int] = {}
    for r in results:
        for name, t in r.timings.items():
            timings[name] = round(timings.get(name, 0.0) + t, 4)
        for name in ("expansions", "tactics", *WASTE_COUNTS):
            extra[name] = extra.get(name, 0) + int(r.extra.get(name, 0))
    return ProverResult(
        theorem=theorem.name,
        verdict=first.verdict,
        proof=first.proof,
        check=first.check,
        attempts=[a for r in results for a in r.attempts],
        time_s=sum(r.time_s for r in results),
        timings=timings,
        reason=first.reason,
        extra=extra,
    )
