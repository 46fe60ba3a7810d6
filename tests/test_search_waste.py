"""Search that wastes less, against real Coq: no-op tactics add nothing, a (goal, tactic) pair runs
once, and a tactic first runs with a short timeout and is retried with the full one later."""

from collections import Counter
from contextlib import contextmanager

import pytest

from proofsmith.checker.types import Theorem, Verdict
from proofsmith.prover.base import Budget
from proofsmith.prover.generators.base import TacticCandidate, TacticGenerator
from proofsmith.prover.search import BestFirstSearchProver

pytestmark = pytest.mark.coq


class ScriptedGenerator(TacticGenerator):
    """The same candidates for every goal, duplicates and all (what a careless model may return)."""

    def __init__(self, candidates, name="scripted"):
        self.candidates = [TacticCandidate(t, lp) for t, lp in candidates]
        self.name = name

    def propose(self, request):
        return [list(self.candidates) for _ in request.goals]


class StagedGenerator(TacticGenerator):
    """Stages asked in turn at each node, like automation before a model."""

    name = "staged"

    def __init__(self, *stages):
        self._stages = list(stages)

    def propose(self, request):
        return [sum((s.propose(request)[i] for s in self._stages), []) for i in range(len(request.goals))]

    def stages(self):
        return self._stages


class CountingChecker:
    """The real checker, counting every (goal text, tactic) its sessions run."""

    def __init__(self, checker):
        self.checker = checker
        self.runs: Counter = Counter()

    def __getattr__(self, name):
        return getattr(self.checker, name)

    @contextmanager
    def session(self):
        with self.checker.session() as session:
            runs = self.runs

            class Counting:
                def __getattr__(self, name):
                    return getattr(session, name)

                def run(self, state, tactic, timeout_s=None):
                    runs[(state.text, tactic)] += 1
                    return session.run(state, tactic, timeout_s=timeout_s)

            yield Counting()


@pytest.fixture(scope="module")
def checker():
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings

    with open_checker("coq", CheckerSettings(workers=1)) as c:
        yield c


ADD_COMM = Theorem("t_add_comm", "Theorem t_add_comm : forall a b : nat, a + b = b + a.", "Require Import Lia.\n")


def test_a_tactic_that_changes_nothing_adds_no_node_and_no_edge(checker):
    gen = ScriptedGenerator([("auto.", -0.1), ("idtac.", -0.2), ("lia.", -1.0)])
    outcome = BestFirstSearchProver(gen).search(ADD_COMM, checker, Budget(wall_s=30))
    outcome.tree.check_invariants()
    result = outcome.result
    assert result.proved and result.proof == "lia."
    assert result.extra["no_ops"] == 2
    assert [e.tactic for e in outcome.tree.root.out_edges] == ["lia."]
    assert result.extra["tree"]["nodes"] == 2  # the root and the finished proof


def test_a_goal_whose_tactics_all_do_nothing_fails_instead_of_staying_open(checker):
    # before, `auto.` made a cycle back to the root, which kept it open forever
    gen = ScriptedGenerator([("auto.", -0.1), ("idtac.", -0.2)])
    result = BestFirstSearchProver(gen).search(ADD_COMM, checker, Budget(wall_s=30)).result
    assert result.verdict is Verdict.FAILED and result.reason == "every branch failed"
    assert result.extra["no_ops"] == 2 and result.extra["tactics"] == 2


def test_a_goal_and_tactic_pair_runs_once_per_search(checker):
    counting = CountingChecker(checker)
    automation = ScriptedGenerator([("auto.", -0.1), ("auto.", -0.1), ("intros a b.", -0.5)], "automation")
    model = ScriptedGenerator([("auto.", -0.3), (" intros a b. ", -0.4), ("lia.", -1.0)], "model")
    outcome = BestFirstSearchProver(StagedGenerator(automation, model)).search(ADD_COMM, counting, Budget(wall_s=30))
    outcome.tree.check_invariants()
    result = outcome.result
    assert result.proved and result.proof == "lia."
    # the root: `auto.` twice from automation, then `auto.` and `intros a b.` again from the model
    assert result.extra["duplicates_skipped"] == 3
    assert counting.runs and max(counting.runs.values()) == 1, counting.runs
    assert result.extra["tactics"] == sum(counting.runs.values())


SLOW_ITERATIONS = 4_000_000


def slow_tactic(then: str) -> str:
    return f"do {SLOW_ITERATIONS} idtac; {then}"


@pytest.fixture(scope="module")
def slow_tactic_s(checker):
    """How long one run of the slow tactic takes on this machine (the tests scale their timeouts to it).

    `run` may execute the tactic twice (a query first, then the add, executed when its goals are asked for),
    each with the timeout to itself, so what a timeout must undercut is the shorter of the two, not the
    whole `run`."""
    theorem = Theorem("t_time", "Theorem t_time : 2 + 2 = 4.")
    with checker.session() as session:
        root = session.open(theorem, timeout_s=10)
        before = session.call_seconds()
        outcome = session.run(root, slow_tactic("reflexivity."), timeout_s=60)
        after = session.call_seconds()
    assert outcome.__class__.__name__ == "ProofFinished", outcome
    spent = {k: after[k] - before.get(k, 0.0) for k in after}
    runs = [spent.get("tactic_query", 0.0), spent.get("add", 0.0) + spent.get("goals", 0.0)]
    elapsed = min(t for t in runs if t > 0)
    assert elapsed > 0.3, "the slow tactic is too fast to tell a short timeout from a long one"
    return elapsed


TWO_PLUS_TWO = Theorem("t_four", "Theorem t_four : 2 + 2 = 4.")


def test_a_tactic_that_needs_the_long_timeout_proves_on_its_retry(checker, slow_tactic_s):
    gen = ScriptedGenerator([(slow_tactic("reflexivity."), -0.1), ("idtac.", -0.5), ("discriminate.", -1.0)])
    prover = BestFirstSearchProver(gen, first_try_timeout_s=slow_tactic_s / 4)
    # one expansion allowed: the retry belongs to it and still runs
    budget = Budget(wall_s=60, expansions=1, tactic_timeout_s=max(10.0, slow_tactic_s * 4))
    outcome = prover.search(TWO_PLUS_TWO, checker, budget)
    outcome.tree.check_invariants()
    result = outcome.result
    assert result.proved and result.proof == slow_tactic("reflexivity.")
    assert result.extra["timeouts_retried"] == 1 and result.extra["tactics"] == 4
    # the first, short timeout left no failed edge behind
    assert not any(getattr(n, "timed_out", False) for n in outcome.tree.nodes)


def test_a_cheap_sibling_proof_makes_the_expensive_retry_unnecessary(checker, slow_tactic_s):
    gen = ScriptedGenerator([(slow_tactic("reflexivity."), -0.1), ("reflexivity.", -2.0)])
    prover = BestFirstSearchProver(gen, first_try_timeout_s=slow_tactic_s / 4)
    result = prover.search(TWO_PLUS_TWO, checker, Budget(wall_s=60, tactic_timeout_s=30)).result
    assert result.proved and result.proof == "reflexivity."
    assert result.extra["timeouts_retried"] == 0


def test_a_tactic_that_times_out_on_its_retry_too_fails_its_branch(checker, slow_tactic_s):
    gen = ScriptedGenerator([(slow_tactic("reflexivity."), -0.1)])
    prover = BestFirstSearchProver(gen, first_try_timeout_s=slow_tactic_s / 8)
    outcome = prover.search(TWO_PLUS_TWO, checker, Budget(wall_s=60, tactic_timeout_s=slow_tactic_s / 3))
    outcome.tree.check_invariants()
    result = outcome.result
    assert result.verdict is Verdict.FAILED and result.reason == "every branch failed"
    assert result.extra["timeouts_retried"] == 1
    assert [n.timed_out for n in outcome.tree.nodes if hasattr(n, "timed_out")] == [True]


def test_first_try_timeout_must_be_positive():
    with pytest.raises(ValueError, match="first_try_timeout_s must be positive"):
        BestFirstSearchProver(ScriptedGenerator([]), first_try_timeout_s=0)
