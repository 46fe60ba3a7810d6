"""Theorems proved where they stand (issue 14): a project's file replayed as its own module up to the statement.

The fixture project (tests/fixtures/coqproject) binds `theories` with -Q and
`extra` with -R; `theories/Middle.v` has lemmas above and below `target`, a
section with a variable, and requires an admitted lemma and an axiom from
`theories/Base.v`. Its required files are compiled into a copy; Middle.v
itself never is, so nothing after a statement can leak in through a `.vo`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from proofsmith.checker.coq.file_context import ContextError, theorem_in_context
from proofsmith.checker.coq.session import CoqSession
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import Verdict

pytestmark = pytest.mark.coq

MIDDLE = "theories/Middle.v"
HUMAN = "rewrite <- plus_n_O. exact above."


@pytest.fixture(scope="module")
def project(coq_project) -> str:
    return str(coq_project)


@pytest.fixture(scope="module")
def session():
    with CoqSession(CheckerSettings(workers=1, timeout_s=30)) as s:
        yield s


def check(session, project, name, proof):
    return session.check(theorem_in_context(project, MIDDLE, name), proof)


def test_the_theorem_sees_the_lemmas_above_it(session, project):
    result = check(session, project, "target", HUMAN)
    assert result.proved, result.reason
    assert result.checker.prelude == ""  # a library file is replayed with nothing before it


def test_a_later_lemma_is_not_there(session, project):
    result = check(session, project, "target", "rewrite <- plus_n_O. exact below.")
    assert result.verdict is Verdict.FAILED and "below was not found" in result.reason


def test_the_theorem_cannot_name_itself(session, project):
    result = check(session, project, "target", "exact target.")
    assert result.verdict is Verdict.FAILED and "target was not found" in result.reason


def test_an_admitted_lemma_of_the_project_is_a_disallowed_axiom(session, project):
    result = check(session, project, "target", f"pose proof (double_inj 0 0) as H. clear H. {HUMAN}")
    assert result.verdict is Verdict.FAILED
    assert "Proj.Base.double_inj" in result.reason


def test_an_axiom_the_project_declares_is_part_of_the_problem(session, project):
    result = check(session, project, "target", f"pose proof (base_oracle 0) as H. clear H. {HUMAN}")
    assert result.proved and result.axioms == ("Proj.Base.base_oracle",)


def test_a_section_theorem_uses_its_variables_and_is_discharged_after_the_section(session, project):
    inside = check(session, project, "sec_lemma", "apply Nat.lt_lt_add_r. exact k_pos.")
    assert inside.proved and set(inside.axioms) == {"k", "k_pos"}
    after = check(session, project, "after_section", "exact sec_lemma.")
    assert after.proved and after.axioms == ()


def test_the_R_binding_lets_a_file_be_required_by_its_short_name(session, project):
    assert check(session, project, "uses_util", "reflexivity.").proved


def test_one_process_moves_between_the_theorems_of_a_file(session, project):
    pid = session.pid
    for name, proof in [("below", "reflexivity."), ("above", "reflexivity."), ("target", HUMAN), ("below", "reflexivity.")]:
        assert check(session, project, name, proof).proved, name
    assert session.pid == pid


def test_interactive_steps_in_context(session, project):
    state = session.open(theorem_in_context(project, MIDDLE, "target"))
    assert "double 1 + 0 = 2" in state.text
    step = session.run(state, "rewrite <- plus_n_O.")
    assert "double 1 = 2" in step.state.text
    assert session.run(step.state, "exact below.").message.endswith("not found in the current environment.")
    assert session.run(step.state, "exact above.").state.is_finished


def test_a_header_after_a_file_gets_a_fresh_process_with_the_prelude(session, project):
    from proofsmith.checker.types import Theorem

    assert check(session, project, "above", "reflexivity.").proved
    plain = session.check(Theorem("t", "Theorem t (n : nat) : n + 0 = n."), "lia.")
    assert plain.proved and plain.checker.prelude  # lia from the prelude, which a file context never gets


def test_places_that_name_nothing_are_clear_errors(project):
    with pytest.raises(ContextError, match="no theorem named nosuch"):
        theorem_in_context(project, MIDDLE, "nosuch")
    with pytest.raises(ContextError, match="no such file"):
        theorem_in_context(project, "theories/Nope.v", "target")
    with pytest.raises(ContextError, match="no such project file"):
        theorem_in_context(str(Path(project) / "theories"), "Middle.v", "target")


def test_a_file_that_does_not_replay_is_an_error_naming_the_line(session, project, tmp_path):
    broken = Path(project) / "theories" / "Broken.v"
    broken.write_text("Lemma a : True.\nProof. exact I. Qed.\n\nLemma b : False.\nProof. exact I. Qed.\n\n"
                      "Theorem c : True.\nProof. exact I. Qed.\n")
    result = session.check(theorem_in_context(project, "theories/Broken.v", "c"), "exact I.")
    assert result.verdict is Verdict.ERROR and "line 5" in result.reason, result.reason


def test_a_stdlib_theorem_in_its_own_file():
    theorem = theorem_in_context("stdlib", "theories/Arith/PeanoNat.v", "Coq.Arith.PeanoNat.Nat.eqb_eq")
    human = ("revert m. induction n as [|n IHn]; intro m; destruct m; simpl; rewrite ?IHn; split; try easy.\n"
             "- now intros ->.\n- now injection 1.")
    with CoqSession(CheckerSettings(workers=1)) as s:
        assert s.check(theorem, human).proved
        # Nat.eqb_spec comes later in PeanoNat: not there yet
        later = s.check(theorem, "intros. destruct (eqb_spec n m); intuition congruence.")
        assert later.verdict is Verdict.FAILED and "eqb_spec" in later.reason


def test_a_functor_parameter_is_a_hypothesis_of_the_theorems_inside(session, project):
    result = check(session, project, "in_functor", "exact x_pos.")
    assert result.proved, result.reason
    # as Coq's Print Assumptions: the proof term (x_pos) is traversed, not the statement (x > 0)
    assert result.axioms == ("P.x_pos",)


def test_a_theorem_in_context_has_exactly_the_statement_of_its_file(session, project):
    from dataclasses import replace

    theorem = theorem_in_context(project, MIDDLE, "target")
    forged = replace(theorem, statement="Theorem target : True.")
    result = session.check(forged, "exact I.")
    assert result.verdict is Verdict.ERROR and "not the one at line" in result.reason
