"""Best-first proof search over real checker states.

The frontier is ordered by cumulative log-probability (the sum of the
generator's log-probabilities along the path, as in ReProver). Each expansion
retrieves premises for the goal, asks the generator for up to k tactics and
runs each one in the checker's `ProofSession`; results that repeat a known
goal text join the existing node instead of opening a new one. A generator
may come in stages (`TacticGenerator.stages`: automation before the model);
a node closed by an early stage never waits for a later one.

Limits (wall time, expansions) are checked between tactics, never in the
middle of recording a result, so a proof found in the step where a limit
fires is kept. A proof found by search is re-checked as a whole through
`checker.check` (the soundness guard) after the session is released; only
that verdict can make the result "proved".
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace

from proofsmith.checker.backend import Checker, ProofSession, SessionCrashed
from proofsmith.checker.types import (
    NextState,
    ProofFinished,
    TacticError,
    TacticTimeout,
    Theorem,
    Verdict,
)
from proofsmith.prover.base import AttemptOutcome, Budget, Prover, ProverResult
from proofsmith.prover.generators.base import TacticGenerator, TacticRequest
from proofsmith.prover.premises import PremiseRetriever
from proofsmith.prover.search_tree import Edge, InternalNode, SearchTree, Status
from proofsmith.prover.stopwatch import Stopwatch

# A tactic never gets less time than this, even when the wall budget is
# nearly spent: a timeout that kills the checker process costs more.
MIN_TACTIC_TIMEOUT_S = 0.25
# Tactics that crash the checker process before a search gives up with an error.
MAX_CRASHES = 3


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
    ):
        """`tactics_per_expansion`, when given, overrides the budget's (a cheap
        generator such as the model-free one can afford more candidates)."""
        if expansion_batch < 1:
            raise ValueError(f"expansion_batch must be at least 1, got {expansion_batch}")
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
        results = [
            self.search(theorem, checker, replace(per_attempt, seed=budget.seed + i)).result
            for i in range(budget.attempts)
        ]
        return combine_attempts(theorem, results)

    def search(self, theorem: Theorem, checker: Checker, budget: Budget) -> SearchOutcome:
        """One search within `budget.wall_s`; the outcome keeps the tree for export."""
        if self.tactics_per_expansion is not None:
            budget = replace(budget, tactics_per_expansion=self.tactics_per_expansion)
        start = time.perf_counter()
        deadline = start + budget.wall_s
        clock = Stopwatch()
        self._crashes = 0
        tree: SearchTree | None = None
        stats = {"expansions": 0, "tactics": 0}
        stop = "frontier exhausted"
        try:
            with ExitStack() as lease:
                with clock.timing("checker"):  # waiting for a session and starting it is checker time
                    session = lease.enter_context(checker.session())
                    root = session.open(theorem, timeout_s=max(budget.tactic_timeout_s, 1.0))
                tree = SearchTree(root)
                stop = self._run(theorem, session, tree, budget, deadline, clock, stats)
        except ValueError as exc:  # the statement does not elaborate
            return SearchOutcome(self._result(theorem, Verdict.ERROR, start, clock, str(exc), tree, stats), tree)
        except SessionCrashed as exc:
            return SearchOutcome(
                self._result(theorem, Verdict.ERROR, start, clock, f"checker crashed: {exc}", tree, stats), tree
            )

        tactics = tree.proof()
        if tactics is None:
            # Like the portfolio prover: TIMEOUT when the wall budget ran out, FAILED otherwise.
            verdict = Verdict.TIMEOUT if stop.startswith("wall-clock") else Verdict.FAILED
            return SearchOutcome(self._result(theorem, verdict, start, clock, stop, tree, stats), tree)
        proof = "\n".join(tactics)
        # The whole-proof check may run past the wall budget: a proof in hand is never dropped.
        with clock.timing("checker"):
            check = checker.check(theorem, proof, timeout_s=max(budget.tactic_timeout_s * 3, 10.0))
        if check.proved:
            result = self._result(theorem, Verdict.PROVED, start, clock, "", tree, stats, proof)
        else:
            result = self._result(
                theorem, Verdict.FAILED, start, clock, f"the checker rejected the proof search found: {check.reason}",
                tree, stats, proof,
            )
        result.check = check
        if check.proved:
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
        """Expand nodes until a proof, an empty frontier or a limit; returns why it stopped."""
        order = itertools.count()
        frontier: list[tuple[float, int, InternalNode]] = [(-tree.root.priority, next(order), tree.root)]
        while frontier:
            if time.perf_counter() >= deadline:
                return f"wall-clock budget of {budget.wall_s:g} s spent after {stats['expansions']} expansions"
            if budget.expansions is not None and stats["expansions"] >= budget.expansions:
                return f"expansion budget of {budget.expansions} spent"
            batch: list[InternalNode] = []
            while frontier and len(batch) < self.expansion_batch:
                node = heapq.heappop(frontier)[2]
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
                    tried = {edge.tactic for edge in node.out_edges or ()}
                    for tactic, logprob in candidates:
                        if tactic in tried:
                            continue
                        remaining = deadline - time.perf_counter()
                        if remaining <= 0:
                            # The node stays open (not expanded to the end): it has not failed.
                            return f"wall-clock budget of {budget.wall_s:g} s spent after {stats['expansions']} expansions"
                        self._try(session, tree, node, tactic, logprob, budget, remaining, clock, frontier, order)
                        stats["tactics"] += 1
                        if tree.root.status is Status.PROVED:
                            return "proof found"
            for node in batch:
                node.finish_expansion()
            if tree.root.status is Status.FAILED:
                return "every branch failed"
        return "frontier exhausted"

    def _try(
        self,
        session: ProofSession,
        tree: SearchTree,
        node: InternalNode,
        tactic: str,
        logprob: float,
        budget: Budget,
        remaining: float,
        clock: Stopwatch,
        frontier: list,
        order: Iterator[int],
    ) -> None:
        timeout = min(budget.tactic_timeout_s, max(remaining, MIN_TACTIC_TIMEOUT_S))
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
        elapsed = time.perf_counter() - t0
        if isinstance(outcome, ProofFinished):
            dst = tree.finished(outcome.state)
        elif isinstance(outcome, NextState):
            known = tree.lookup(outcome.state)
            if known is not None:
                dst = known
            else:
                dst = tree.internal(outcome.state, node.cumulative_logprob + logprob, node.depth + 1)
                heapq.heappush(frontier, (-dst.priority, next(order), dst))
        elif isinstance(outcome, TacticTimeout):
            dst = tree.error(outcome.message, timed_out=True)
        else:
            assert isinstance(outcome, TacticError)
            dst = tree.error(outcome.message)
        node.add_edge(Edge(tactic, logprob, node, dst, elapsed))

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
        extra = dict(stats)
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


def combine_attempts(theorem: Theorem, results: list[ProverResult]) -> ProverResult:
    """One result for K attempts: proved if any attempt was, with every attempt recorded."""
    proved = next((r for r in results if r.proved), None)
    first = proved or results[-1]
    timings: dict[str, float] = {}
    extra: dict[str, int] = {}
    for r in results:
        for name, t in r.timings.items():
            timings[name] = round(timings.get(name, 0.0) + t, 4)
        for name in ("expansions", "tactics"):
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
