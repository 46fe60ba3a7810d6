"""Search goes on past a proof the whole-proof check rejects, against real Coq.

The failure this guards against: a remembered `fix IH 1.` followed by
`assumption.` "finishes" the goal with the unguarded hypothesis IH, the
whole-proof check rejects it ("Recursive definition of IH is ill-formed"), and
search used to stop there with most of its budget left.
"""

import pytest

from proofsmith.checker.coq.document import QueryError
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


def test_a_rejected_finish_is_a_dead_end_and_the_good_proof_is_found(checker):
    outcome = BestFirstSearchProver(ByGoalGenerator()).search(ADD_ZERO, checker, Budget(wall_s=30))
    outcome.tree.check_invariants()
    result = outcome.result
    assert result.verdict is Verdict.PROVED, result.reason
    assert result.proof == "intros n.\ninduction n; simpl; auto."
    assert result.check is not None and result.check.proved
    assert result.extra["rejected_finishes"] == 1
    rejected = [n for n in outcome.tree.to_json()["nodes"] if n.get("rejected")]
    assert len(rejected) == 1 and "ill-formed" in rejected[0]["rejected"]
    assert checker.check(ADD_ZERO, result.proof).proved


def test_only_rejected_finishes_fail_with_the_checkers_reason(checker):
    class OnlyFix(ByGoalGenerator):
        def propose(self, request):
            return [[c for c in cands if c.tactic != "intros n."] for cands in super().propose(request)]

    result = BestFirstSearchProver(OnlyFix()).search(ADD_ZERO, checker, Budget(wall_s=30)).result
    assert result.verdict is Verdict.FAILED and result.proof is None
    assert "rejected 1 proof" in result.reason and "ill-formed" in result.reason


class GuardedSession:
    """A session offering `guarded(state)`: Coq's `Guarded.` at the state, through the document's query call.

    A stand-in for the checker's own method (asked of checker/): it shows what search does with one.
    """

    def __init__(self, session):
        self._session = session
        self.asked = 0

    def __getattr__(self, name):
        return getattr(self._session, name)

    def guarded(self, goal_state):
        self.asked += 1
        session = self._session
        session._goto(goal_state.handle, 10.0)
        try:
            session._process.query("Guarded.")
        except QueryError as exc:
            return str(exc)
        return None


class GuardedChecker:
    def __init__(self, checker):
        self._checker = checker
        self.sessions = []

    def __getattr__(self, name):
        return getattr(self._checker, name)

    def session(self):
        from contextlib import contextmanager

        @contextmanager
        def lease():
            with self._checker.session() as session:
                wrapped = GuardedSession(session)
                self.sessions.append(wrapped)
                yield wrapped

        return lease()


def test_a_session_that_checks_guardedness_kills_the_unguarded_branch_when_it_runs(checker):
    guarded = GuardedChecker(checker)
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
