"""prover.suggestion, the engine behind `proofsmith suggest`, driven directly on real Coq (issue 17),
and checker.coq.proof_at_line, which finds the proof around an editor's line (pure text)."""

from __future__ import annotations

import math
import threading
import time

import pytest

from proofsmith.checker.coq.file_context import ContextError
from proofsmith.checker.coq.proof_at_line import proof_at_line
from proofsmith.checker.types import Theorem
from proofsmith.prover.generators.base import TacticCandidate, TacticGenerator, TacticRequest
from proofsmith.prover.suggestion import (
    AUTOMATION,
    MODEL,
    Source,
    SuggestionEngine,
    SuggestionError,
    automation_source,
    normalize_tactic,
    percentile,
    rank,
)

FIXTURE = "tests/fixtures/coqproject"
STATEMENT = "Theorem t (n m : nat) : n <= m -> n < S m /\\ m + 0 = m."


class Fixed(TacticGenerator):
    """A generator with a fixed list of candidates (log-probabilities from their order), optionally slow."""

    def __init__(self, tactics, delay_s: float = 0.0, costly: bool = False, name: str = "fixed"):
        self.tactics = tactics
        self.delay_s = delay_s
        self.costly = costly
        self.name = name
        self.calls = 0

    def propose(self, request: TacticRequest):
        self.calls += 1
        time.sleep(self.delay_s)
        return [[TacticCandidate(t, -0.1 * (i + 1)) for i, t in enumerate(self.tactics[: request.k])]
                for _ in request.goals]


@pytest.fixture(scope="module")
def session():
    from proofsmith.checker.coq.session import CoqSession
    from proofsmith.checker.settings import CheckerSettings

    with CoqSession(CheckerSettings(workers=1, timeout_s=30)) as s:
        yield s


def engine(session, *sources, statement=STATEMENT):
    return SuggestionEngine(session, Theorem("t", statement), list(sources) or [automation_source()])


# ------------------------------------------------------------------ pure


def test_normalize_tactic_adds_the_period_coq_needs():
    assert normalize_tactic(" intros H ") == "intros H."
    assert normalize_tactic("lia.") == "lia."
    assert normalize_tactic("-") == "-" and normalize_tactic("{") == "{" and normalize_tactic("}") == "}"
    assert normalize_tactic("simp", backend="lean") == "simp"


def test_percentile_is_linear_between_ranks():
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([1, 2], 90) == pytest.approx(1.9)
    assert math.isnan(percentile([], 50))


def test_proof_at_line_finds_the_proof_and_its_sentences_up_to_the_line():
    at = proof_at_line(FIXTURE, "theories/Middle.v", 8)
    assert at.theorem.name == "Proj.Middle.target" and at.done == () and at.closer == "Qed."
    assert at.theorem.place.line == 8 and (at.start_line, at.end_line) == (8, 9)
    at = proof_at_line(FIXTURE, "theories/Middle.v", 9)  # `Proof.` is skipped, `Qed.` is not run
    assert [s.text for s in at.done] == ["rewrite <- plus_n_O.", "exact above."]
    section = proof_at_line(FIXTURE, "theories/Middle.v", 19)
    assert section.theorem.name == "Proj.Middle.sec_lemma"


def test_proof_at_line_outside_any_proof_names_the_nearest():
    with pytest.raises(ContextError, match=r"line 3 is not inside any proof; the nearest: above \(lines 5-6\)"):
        proof_at_line(FIXTURE, "theories/Middle.v", 3)
    with pytest.raises(ContextError, match="outside the file"):
        proof_at_line(FIXTURE, "theories/Middle.v", 999)


def test_rank_puts_finishers_then_goal_closers_first():
    from proofsmith.checker.types import GoalState
    from proofsmith.prover.suggestion import Suggestion

    state = GoalState(0, (), "")
    a = Suggestion("a.", state, -0.1, (AUTOMATION,), 0.0, finished=False)
    b = Suggestion("b.", state, -5.0, (AUTOMATION,), 0.0, finished=True)
    c = Suggestion("c.", state, -3.0, (MODEL,), 0.0, finished=False, closes_goal=True)
    assert [s.tactic for s in rank([a, b, c])] == ["b.", "c.", "a."]


# ------------------------------------------------------------------ on Coq


@pytest.mark.coq
def test_failing_unchanged_and_repeated_candidates_are_not_shown(session):
    gen = Fixed(["intros.", "lia.", "no_such_tactic.", "idtac.", "intros H.", "revert H.", "split."])
    e = engine(session, Source(AUTOMATION, gen))
    first = {s.tactic for s in e.suggest()}
    # idtac changes nothing; no_such_tactic fails; `intros H.` reaches the same state as `intros.` (better score)
    assert first == {"intros.", "lia.", "split."}
    e.run_tactic("intros H")
    second = {s.tactic for s in e.suggest()}
    assert "revert H." not in second  # back to the first state, which is on the path
    assert "lia." in second and "intros." not in second  # nothing left to introduce: unchanged


@pytest.mark.coq
def test_suggestions_are_ranked_closers_first_with_goals_and_sources(session):
    e = engine(session)
    ranked = e.suggest()
    assert ranked[0].finished and ranked[0].tactic == "lia."
    finishing = [s.finished for s in ranked]
    assert finishing == sorted(finishing, reverse=True)
    intros = next(s for s in ranked if s.tactic == "intros.")
    assert intros.source == AUTOMATION and "H : n <= m" in intros.state.text
    record = intros.to_json(rank=3)
    assert record["rank"] == 3 and record["closes_goal"] is False and record["goals"]


@pytest.mark.coq
def test_cheap_sources_are_delivered_before_a_slow_model(session):
    slow = Fixed(["lia.", "split."], delay_s=1.0, costly=True, name="slow-model")
    e = engine(session, automation_source(), Source(MODEL, slow, k=4))
    arrivals = []
    e.suggest(on_suggestion=lambda new, ranked: arrivals.append((time.perf_counter(), new.source)))
    assert arrivals[0][1] == AUTOMATION
    assert e.timing.first_s < 0.9  # the first suggestion did not wait for the model
    assert e.timing.full_s >= 1.0
    merged = {s.tactic: s for s in e.suggest()}  # cached: the model's vote joined automation's row
    assert merged["lia."].sources == (AUTOMATION, MODEL)


@pytest.mark.coq
def test_a_source_still_loading_is_skipped_without_wait_and_asked_later(session):
    gate = threading.Event()

    def load():
        gate.wait(10)
        return Fixed(["lia."], costly=True)

    e = engine(session, Source(AUTOMATION, Fixed(["intros."])), Source(MODEL, loader=load, costly=True))
    quick = e.suggest(wait=False)
    assert [s.tactic for s in quick] == ["intros."] and "model (still loading)" in e.timing.skipped_sources
    gate.set()
    full = e.suggest(wait=True)
    assert {s.tactic for s in full} == {"intros.", "lia."} and not e.timing.skipped_sources


@pytest.mark.coq
def test_a_model_that_fails_to_load_leaves_the_other_sources(session):
    def load():
        raise RuntimeError("no weights")

    e = engine(session, automation_source(), Source(MODEL, loader=load, costly=True))
    assert e.suggest()[0].tactic == "lia."
    assert any("no weights" in s for s in e.timing.skipped_sources)


@pytest.mark.coq
def test_apply_undo_typed_tactics_and_the_whole_proof(session):
    e = engine(session)
    intros = next(s for s in e.suggest() if s.tactic == "intros.")
    e.apply(intros)
    bad = e.run_tactic("split (.")
    assert not bad.ok and "Syntax error" in bad.message
    assert e.tactics == ["intros."]
    assert e.undo().tactic == "intros." and e.tactics == []
    with pytest.raises(SuggestionError):
        e.undo()
    assert e.run_tactic("intros H").ok
    assert e.run_tactic("split").ok and len(e.state.goals) == 2
    closer = next(s for s in e.suggest() if s.closes_goal and not s.finished)
    assert len(closer.state.goals) == 1
    e.apply(closer)
    assert e.run_tactic("lia").finished and e.finished
    script = e.proof_script()
    assert script.startswith("Proof.\n  intros H.\n  split.\n") and script.endswith("lia.\nQed.")
    assert e.check().proved


@pytest.mark.coq
def test_a_vernacular_command_is_refused_as_a_tactic(session):
    e = engine(session)
    step = e.run_tactic("Admitted.")
    assert not step.ok and "rejected" in step.message


@pytest.mark.coq
def test_search_from_the_current_state_pushes_the_proof_it_finds(session):
    e = engine(session)
    e.run_tactic("intros H")
    e.run_tactic("split")
    outcome = e.search(budget_s=20)
    assert outcome.tactics, outcome.reason
    assert e.finished and e.tactics[:2] == ["intros H.", "split."]
    assert e.check().proved


@pytest.mark.coq
def test_a_statement_that_does_not_elaborate_is_a_value_error(session):
    with pytest.raises(ValueError, match="foo was not found"):
        engine(session, statement="Theorem t : foo + 1 = 2.")


@pytest.mark.coq
def test_candidates_that_time_out_quickly_are_retried_with_the_full_timeout(session):
    gen = Fixed(["lia.", "intros.", "exfalso."])
    e = SuggestionEngine(session, Theorem("t", STATEMENT), [Source(AUTOMATION, gen)], quick_timeout_s=0.001)
    assert {s.tactic for s in e.suggest()} == {"lia.", "intros.", "exfalso."}  # whether or not the quick try timed out
    spent = SuggestionEngine(session, Theorem("t", STATEMENT), [Source(AUTOMATION, gen)], quick_timeout_s=0.001,
                             list_budget_s=0.0)
    kept = {s.tactic for s in spent.suggest()}
    assert kept | set(spent.timing.timed_out) == {"lia.", "intros.", "exfalso."}


@pytest.mark.coq
def test_without_preload_the_model_starts_loading_after_the_first_suggestions(session):
    started = []

    def load():
        started.append(time.perf_counter())
        return Fixed(["lia."], costly=True)

    e = SuggestionEngine(session, Theorem("t", STATEMENT), [Source(AUTOMATION, Fixed(["intros."])),
                                                            Source(MODEL, loader=load, costly=True)], preload=False)
    time.sleep(0.2)
    assert not started  # nothing loads while the first state is opened
    e.suggest(wait=False)
    deadline = time.monotonic() + 10
    while not started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started
    assert {s.tactic for s in e.suggest(wait=True)} == {"intros.", "lia."}


def test_a_step_that_only_turns_the_goal_into_false_ranks_below_progress(session):
    fixed = Source("fixed", Fixed(["exfalso.", "intros."]))
    got = engine(session, fixed, statement="Theorem t (n : nat) : n = n -> True /\\ n = n.").suggest()
    assert [s.tactic for s in got] == ["intros.", "exfalso."]  # exfalso has the better score
    assert got[1].gives_up and not got[0].gives_up
