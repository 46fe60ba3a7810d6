"""Search goes on past a proof the whole-proof check rejects, against real Coq.

The failure this guards against: a remembered `fix IH 1.` followed by
`assumption.` "finishes" the goal with the unguarded hypothesis IH, the
whole-proof check rejects it ("Recursive definition of IH is ill-formed"), and
search used to stop there with most of its budget left.
"""

import pytest

from proofsmith.checker.types import Theorem, Verdict
from proofsmith.prover.base import Budget
from proofsmith.prover.generators.base import TacticCandidate, TacticGenerator
from proofsmith.prover.search import BestFirstSearchProver
from proofsmith.prover.search_tree import Edge, SearchTree, Status
from tests.test_prover_search import state

pytestmark = pytest.mark.coq

ADD_ZERO = Theorem("t_add_zero", "Theorem t_add_zero : forall n : nat, n + 0 = n.")


class ByGoalGenerator(TacticGenerator):
    """Candidates chosen by what the goal shows: the unguarded fixpoint first, the real proof later."""

    name = "by-goal"

    def propose(self, request):
        out = []
        for goal in request.goals:
            if "IH :" in goal.text:
                out.append([TacticCandidate("assumption.", -0.1)])
            elif "forall" in goal.text:
                out.append([TacticCandidate("fix IH 1.", -0.1), TacticCandidate("intros n.", -1.0)])
            else:
                out.append([TacticCandidate("induction n; simpl; auto.", -0.5)])
        return out


@pytest.fixture(scope="module")
def checker():
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings

    with open_checker("coq", CheckerSettings(workers=1)) as c:
        yield c


@pytest.fixture
def finish_only(checker):
    """The checker, its sessions offering no `guarded(state)`: a rejected proof is caught at its finish."""
    return CountingChecker(checker, wrap=NoGuardedSession)


def test_a_rejected_finish_is_a_dead_end_and_the_good_proof_is_found(finish_only, checker):
    outcome = BestFirstSearchProver(ByGoalGenerator()).search(ADD_ZERO, finish_only, Budget(wall_s=30))
    outcome.tree.check_invariants()
    result = outcome.result
    assert result.verdict is Verdict.PROVED, result.reason
    assert result.proof == "intros n.\ninduction n; simpl; auto."
    assert result.check is not None and result.check.proved
    assert result.extra["rejected_finishes"] == 1
    rejected = [n for n in outcome.tree.to_json()["nodes"] if n.get("rejected")]
    assert len(rejected) == 1 and "ill-formed" in rejected[0]["rejected"]
    assert checker.check(ADD_ZERO, result.proof).proved


def test_only_rejected_finishes_fail_with_the_checkers_reason(finish_only):
    class OnlyFix(ByGoalGenerator):
        def propose(self, request):
            return [[c for c in cands if c.tactic != "intros n."] for cands in super().propose(request)]

    result = BestFirstSearchProver(OnlyFix()).search(ADD_ZERO, finish_only, Budget(wall_s=30)).result
    assert result.verdict is Verdict.FAILED and result.proof is None
    assert "rejected 1 proof" in result.reason and "ill-formed" in result.reason


class CountingSession:
    """The checker's session, counting the calls search makes to its `guarded(state)` (Coq's `Guarded.`)."""

    def __init__(self, session):
        self._session = session
        self.asked = 0

    def __getattr__(self, name):
        return getattr(self._session, name)

    def guarded(self, goal_state):
        self.asked += 1
        return self._session.guarded(goal_state)


class NoGuardedSession:
    """The checker's session without `guarded(state)`, as a backend that has no such query: only the finish checks."""

    def __init__(self, session):
        self._session = session

    def __getattr__(self, name):
        if name == "guarded":
            raise AttributeError(name)
        return getattr(self._session, name)


class CountingChecker:
    def __init__(self, checker, wrap=CountingSession):
        self._checker = checker
        self._wrap = wrap
        self.sessions = []

    def __getattr__(self, name):
        return getattr(self._checker, name)

    def session(self):
        from contextlib import contextmanager

        @contextmanager
        def lease():
            with self._checker.session() as session:
                wrapped = self._wrap(session)
                self.sessions.append(wrapped)
                yield wrapped

        return lease()


def test_the_coq_session_says_whether_a_state_below_fix_is_guarded(checker):
    with checker.session() as session:
        opened = session.open(ADD_ZERO)
        below_fix = session.run(opened, "fix IH 1.").state
        assert session.guarded(below_fix) is None or "abstraction" in session.guarded(below_fix)
        unguarded = session.run(below_fix, "assumption.")
        complaint = session.guarded(unguarded.state)
        assert complaint is not None and "IH" in complaint
        honest = session.run(session.run(opened, "intros n.").state, "induction n; simpl; auto.")
        assert session.guarded(honest.state) is None


def test_a_session_that_checks_guardedness_kills_the_unguarded_branch_when_it_runs(checker):
    guarded = CountingChecker(checker)
    outcome = BestFirstSearchProver(ByGoalGenerator()).search(ADD_ZERO, guarded, Budget(wall_s=30))
    result = outcome.result
    assert result.proved and result.proof == "intros n.\ninduction n; simpl; auto."
    # the unguarded `assumption.` died when it ran: no whole-proof check was spent on it
    assert result.extra["unguarded"] == 1 and result.extra["rejected_finishes"] == 0
    assert guarded.sessions[0].asked == 2  # after `fix IH 1.` (guarded so far) and after `assumption.`
    outcome.tree.check_invariants()


def test_rejecting_a_finish_recomputes_every_status():
    tree = SearchTree(state("root"))
    a = tree.internal(state("a"), -1.0, 1)
    b = tree.internal(state("b"), -2.0, 1)
    tree.root.add_edge(Edge("ta.", -1.0, tree.root, a))
    tree.root.add_edge(Edge("tb.", -2.0, tree.root, b))
    tree.root.finish_expansion()
    short = tree.finished(None)
    a.add_edge(Edge("bad.", -0.1, a, short))
    a.finish_expansion()
    c = tree.internal(state("c"), -3.0, 2)
    b.add_edge(Edge("tc.", -1.0, b, c))
    c.add_edge(Edge("good.", -0.1, c, tree.finished(None)))
    assert tree.proof() == ["ta.", "bad."] and tree.proof_end() is short
    tree.reject(short, "ill-formed")
    tree.check_invariants()
    assert a.status is Status.FAILED and tree.root.status is Status.PROVED
    assert tree.proof() == ["tb.", "tc.", "good."] and tree.root.distance_to_proof == 3
    tree.reject(tree.proof_end(), "no")
    tree.check_invariants()
    assert tree.root.status is Status.OPEN and tree.proof() is None  # b and c are still being expanded
