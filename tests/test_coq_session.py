"""The interactive API, timeouts, memory cap and crash recovery, against real Coq."""

import os
import signal
import threading
import time

import pytest

from proofsmith.checker.coq.session import CoqSession
from proofsmith.checker.pool import PooledChecker
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import NextState, ProofFinished, ProofTask, TacticError, TacticTimeout, Theorem, Verdict

pytestmark = pytest.mark.coq

LT = Theorem("lt", "Theorem lt (n m : nat) (H : n < m) : n + 0 < m + 1 /\\ True.")


@pytest.fixture(scope="module")
def session():
    with CoqSession(CheckerSettings(timeout_s=10)) as s:
        yield s


def test_open_gives_structured_goals_and_pretty_text(session):
    state = session.open(LT)
    (goal,) = state.goals
    assert [h.names for h in goal.hypotheses] == [("n", "m"), ("H",)]
    assert goal.hypotheses[1].type == "n < m"
    assert goal.target == "n + 0 < m + 1 /\\ True"
    assert state.text == "n, m : nat\nH : n < m\n============================\nn + 0 < m + 1 /\\ True"


def test_run_branches_and_returns_to_any_earlier_state(session):
    root = session.open(LT)
    split = session.run(root, "split.")
    assert isinstance(split, NextState) and len(split.state.goals) == 2
    # a failing tactic leaves the state usable
    assert isinstance(session.run(split.state, "exact I."), TacticError)
    left = session.run(split.state, "lia.")
    assert isinstance(left, NextState) and left.state.goals[0].target == "True"
    # go back to the root (expiring the line in Coq) and take another branch
    other = session.run(root, "constructor; [lia | exact I].")
    assert isinstance(other, ProofFinished)
    # the first branch is still reachable: it is replayed
    done = session.run(left.state, "exact I.")
    assert isinstance(done, ProofFinished)


def test_bullets_report_unfocused_goals(session):
    split = session.run(session.open(LT), "split.").state
    focused = session.run(split, "-")
    assert isinstance(focused, NextState)
    assert len(focused.state.goals) == 1 and focused.state.pending == 1
    assert "not in focus" in focused.state.text


def test_run_rejects_vernacular_and_give_up(session):
    root = session.open(LT)
    for bad in ("Admitted.", "admit.", "Qed.", "Axiom a : False."):
        result = session.run(root, bad)
        assert isinstance(result, TacticError) and result.message.startswith("rejected")


def test_tactic_timeout_keeps_the_session_usable(session):
    root = session.open(LT)
    result = session.run(root, "let rec loop := (idtac; loop) in loop.", timeout_s=1.0)
    assert isinstance(result, TacticTimeout)
    assert isinstance(session.run(root, "split; [lia | exact I]."), ProofFinished)


def test_statement_that_does_not_compile_raises_value_error(session):
    with pytest.raises(ValueError, match="statement does not compile"):
        session.open(Theorem("bad", "Theorem bad : nonsense = 1."))


def test_memory_cap_kills_only_that_proof():
    settings = CheckerSettings(memory_mb=1024, timeout_s=30)
    with CoqSession(settings) as s:
        hog = Theorem("hog", "Theorem hog : True.", "Require Import List.")
        result = s.check(hog, "let l := eval vm_compute in (List.length (List.repeat tt 50000000)) in idtac. exact I.")
        assert result.verdict in (Verdict.ERROR, Verdict.FAILED)
        assert s.check(hog, "exact I.").proved


def test_a_tactic_that_crashes_coq_is_an_error_and_states_survive():
    settings = CheckerSettings(memory_mb=1024, timeout_s=30)
    with CoqSession(settings) as s:
        hog = Theorem("hog2", "Theorem hog2 : True /\\ True.", "Require Import List.")
        root = s.open(hog)
        split = s.run(root, "split.")
        crashed = s.run(split.state, "let l := eval vm_compute in (List.length (List.repeat tt 50000000)) in idtac.")
        assert isinstance(crashed, TacticError) and "crashed" in crashed.message
        # the earlier state is replayed in the new process
        assert isinstance(s.run(split.state, "all: exact I."), ProofFinished)


def test_killing_a_worker_mid_batch_marks_only_that_proof():
    settings = CheckerSettings(workers=2, timeout_s=60)
    slow = Theorem("slow", "Theorem slow : True.")
    quick = [ProofTask(Theorem(f"q{i}", f"Theorem q{i} : {i} + {i} = {2 * i}."), "reflexivity.") for i in range(12)]
    victim = ProofTask(slow, "do 20000000 idtac. exact I.")
    with PooledChecker(lambda: CoqSession(settings), settings) as checker:
        killed = {}
        finished: set[int] = set()

        def kill_the_victim():
            # once every quick proof is judged, the only busy session is the victim's
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and 0 not in finished:
                time.sleep(0.2)
                if len(finished) == len(quick):
                    busy = [s for s in list(checker.pool._busy) if s.alive]
                    if len(busy) == 1:
                        killed["pid"] = busy[0].pid
                        os.kill(busy[0].pid, signal.SIGKILL)
                        return

        killer = threading.Thread(target=kill_the_victim)
        killer.start()
        results = checker.check_batch([victim] + quick, on_result=lambda i, _: finished.add(i))
        killer.join()
        assert killed, "the slow proof finished before it could be killed"
        assert results[0].verdict is Verdict.ERROR and "SIGKILL" in results[0].reason
        assert all(r.proved for r in results[1:])
        # the pool replaced the dead process
        assert checker.check(slow, "exact I.").proved


# Every kind of sentence search sends: tactics that run, fail, focus, select goals, close goals, and
# ones Coq refuses to parse or apply where they stand.
TRIED_FIRST_CASES = ("split.", "-", "+", "{", "}", "2: lia.", "all: lia.", "lia.", "exact I.", "apply nonexistent_lemma.",
                     "intros.", "destruct n.", "split; [lia | exact I].", "constructor 3.", "auto.", "exact (H H).",
                     "idtac \"printed\".", "fail 0 \"on purpose\".", "shelve.", "Unshelve.", "exact.", "pose proof H.",
                     # no progress: a no-op, and a tactic whose own progress fails
                     "simpl.", "progress simpl.", "try lia.", "repeat split.", "1: idtac.", "all: simpl.",
                     "Grab Existential Variables.", "cbn in H.", "(idtac).")


def _outcome(result):
    if isinstance(result, (NextState, ProofFinished)):
        return type(result).__name__, result.state.text
    return type(result).__name__, result.message


def test_tactics_tried_first_as_queries_give_what_adding_them_gives():
    """run() tries a one-sentence tactic as queries first (CoqSession.tactics_tried_first): the
    outcome, the goals' text and Coq's error message are those of adding it, from the root and from a
    split state, and a failure or a no-op costs no add and no edit_at."""
    outcomes = {}
    for tried_first in (True, False):
        with CoqSession(CheckerSettings(timeout_s=10)) as s:
            s.tactics_tried_first = tried_first
            root = s.open(LT)
            split = s.run(root, "split.")
            assert isinstance(split, NextState)
            outcomes[tried_first] = [_outcome(s.run(state, tactic)) for state in (root, split.state)
                                     for tactic in TRIED_FIRST_CASES]
            if tried_first:
                before = s.call_seconds()
                assert isinstance(s.run(split.state, "exact nonexistent_lemma."), TacticError)
                after = s.call_seconds()
                assert after.get("edit_at", 0.0) == before.get("edit_at", 0.0)
                assert after.get("add", 0.0) == before.get("add", 0.0)
                assert after["tactic_query"] > before.get("tactic_query", 0.0)
                # a tactic that changes nothing costs two queries, no add and no edit_at
                noop = s.run(split.state, "idtac.")
                assert isinstance(noop, NextState) and noop.state.text == split.state.text
                assert {k: v for k, v in s.call_seconds().items() if k != "tactic_query"} == {
                    k: v for k, v in after.items() if k != "tactic_query"}
                assert isinstance(s.run(noop.state, "exact I."), TacticError)  # its state replays
    assert outcomes[True] == outcomes[False]
    kinds = {kind for kind, _ in outcomes[True]}
    assert {"NextState", "ProofFinished", "TacticError"} <= kinds


def test_a_tactic_that_keeps_changing_the_goals_slowly_is_added_at_once():
    """run() tries a tactic as a query first while that is expected to cost less (CoqSession.TacticCost):
    one that has always changed the goals, slowly against an add and an edit_at, is added at once."""
    from proofsmith.checker.coq.session import TacticCost

    cost = TacticCost()
    assert cost.query_first(0.001)  # nothing known yet
    for _ in range(3):
        cost.record("changed", 0.05)
    assert not cost.query_first(0.001)
    assert not cost.query_first(1.0)  # it never failed: a query never saved anything
    for _ in range(3):
        cost.record("failed")
    assert cost.query_first(1.0)  # half of its runs fail, and going back costs more than a second run
    assert not cost.query_first(0.01)
    noop = TacticCost()
    noop.record("unchanged", 0.002)
    assert noop.query_first(0.003) and not noop.query_first(0.001)  # a no-op's second run against going back
    failing = TacticCost()
    failing.record("failed")
    assert failing.query_first(0.0)
    once = TacticCost()
    once.record("changed", 0.02)
    assert not once.query_first(0.01)
    assert once.query_first(0.01, failing)  # a proof where tactics fail: its record is the prior
    assert not TacticCost().query_first(0.01, cost)  # one where they change the goals slowly
    with CoqSession(CheckerSettings(timeout_s=10)) as s:
        root = s.open(LT)
        slow = "do 100000 idtac; split."  # changes the goals every time, in milliseconds
        for _ in range(3):
            assert isinstance(s.run(root, slow), NextState)
        before = s.call_seconds()
        assert isinstance(s.run(root, slow), NextState)
        after = s.call_seconds()
        assert after.get("tactic_query", 0.0) == before.get("tactic_query", 0.0)  # added without a query


def test_only_text_coq_must_read_as_one_sentence_is_sent_as_a_query():
    """A query runs every sentence of its text, so one whose sentence ends Coq might read otherwise
    than the guard (a string, a comment, a period and a blank inside) is added instead."""
    from proofsmith.checker.coq.session import _one_sentence_to_coq

    assert _one_sentence_to_coq("apply Nat.add_comm.") and _one_sentence_to_coq("-")
    for text in ('idtac "a. Quit.".', "auto (* x. *).", "idtac. Quit.", "idtac.\nQuit."):
        assert not _one_sentence_to_coq(text), text
    with CoqSession(CheckerSettings(timeout_s=10)) as s:
        root = s.open(LT)
        before = s.call_seconds()
        assert isinstance(s.run(root, 'fail 0 "no. Quit.".'), TacticError)
        assert s.call_seconds().get("tactic_query", 0.0) == before.get("tactic_query", 0.0)
