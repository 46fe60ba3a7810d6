"""bench/coqc_recheck.py: plain coqc's verdict on proofs, under a header and in their own file.

The re-check is what issue tables rest on ("every proof re-checks with plain coqc"), so it must
reject what Coq would not accept as a closed proof and accept what it would, including the
library cases the checker allows: section variables and a functor's parameters.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from coqc_recheck import recheck  # noqa: E402

pytestmark = pytest.mark.coq
MIDDLE = "theories/Middle.v"


@pytest.fixture(scope="module")
def project(coq_project) -> str:
    return str(coq_project)


def place(project: str, line: int) -> dict:
    return {"project": project, "file": MIDDLE, "line": line}


def test_in_context_human_proof_is_closed(project):
    done = recheck("target", "rewrite <- plus_n_O. exact above.", place=place(project, 8))
    assert done.ok and done.note == "closed under the global context", done


def test_in_context_proof_through_an_admitted_lemma_is_rejected(project):
    proof = "pose proof (double_inj 0 0) as _H. rewrite <- plus_n_O. exact above."
    done = recheck("target", proof, place=place(project, 8))
    assert not done.ok and "outside Coq's standard library" in done.note and "double_inj" in done.note, done


def test_in_context_wrong_proof_and_admit_are_rejected(project):
    assert not recheck("target", "reflexivity. reflexivity.", place=place(project, 8)).ok
    assert recheck("target", "admit.", place=place(project, 8)).note == "the proof admits"


def test_section_variables_and_functor_parameters_are_hypotheses(project):
    assert recheck("sec_lemma", "apply Nat.lt_lt_add_r. exact k_pos.", place=place(project, 18)).ok
    done = recheck("in_functor", "exact x_pos.", place=place(project, 35))
    assert done.ok and "P.x_pos" in done.note, done


def test_header_axioms_stdlib_and_declared_pass_others_fail():
    classical = recheck("t", "intros P. apply Classical_Prop.classic.", header="Require Import Classical.",
                        statement="Theorem t : forall P : Prop, P \\/ ~ P.")
    assert classical.ok and "Coq.Logic.Classical_Prop.classic" in classical.note, classical
    declared = recheck("t", "exact oracle.", header="Axiom oracle : 1 = 2.", statement="Theorem t : 1 = 2.")
    assert declared.ok, declared
    # a mutant's header is its file's imports: there, a declared axiom fails too (bench/mutation_recheck.py)
    strict = recheck("t", "exact oracle.", header="Axiom oracle : 1 = 2.", statement="Theorem t : 1 = 2.",
                     header_axioms=False)
    assert not strict.ok and "outside Coq's standard library" in strict.note, strict
    smuggled = recheck("t", "exact M.oracle.", header="Module M. Definition x := 0. End M.",
                       statement="Theorem t : 1 = 2.")
    assert not smuggled.ok


def test_a_definition_accepted_without_the_guard_check_is_rejected_as_unsafe():
    header = "Unset Guard Checking.\nFixpoint loop (n : nat) : False := loop n.\nSet Guard Checking."
    done = recheck("t", "exact (loop 0).", header=header, statement="Theorem t : False.")
    assert not done.ok and "unsafe" in done.note and "loop is assumed to be guarded" in done.note, done
