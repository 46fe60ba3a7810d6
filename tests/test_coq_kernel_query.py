"""The checker asks the kernel (issue 23): one test per mechanism, against real Coq.

Each of these was judged wrongly before: a cheat "proved", an honest proof
lost, or a traceback. The kernel-query plugin (checker/coq/kernel_query) is
built for the installed Coq on first use.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from proofsmith.checker.backend import CheckerUnavailable
from proofsmith.checker.coq import guard
from proofsmith.checker.coq.file_context import ContextError, theorem_in_context
from proofsmith.checker.coq.kernel_query import answer
from proofsmith.checker.coq.kernel_query.build import plugin_folder
from proofsmith.checker.coq.sentences import CoqSyntaxError, split_sentences
from proofsmith.checker.coq.session import CoqSession
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import Theorem, Verdict

pytestmark = pytest.mark.coq

ADMITTED = "Lemma adm : False. Admitted.\n"


@pytest.fixture(scope="module")
def session():
    with CoqSession(CheckerSettings(workers=1, timeout_s=60)) as s:
        yield s


def check(session, header, statement, proof):
    name = guard.parse_statement(statement).name
    return session.check(Theorem(name, statement, header), proof)


# ---------------------------------------------------------------- the plugin itself


def test_the_plugin_builds_and_answers_json_with_every_string_escaped(tmp_path):
    folder = plugin_folder()
    assert folder is not None
    source = tmp_path / "q.v"
    source.write_text('Declare ML Module "coq-proofsmith-kernel-query.plugin".\n'
                      "Axiom \u03b1\U0001d4b3 : False.\nLemma t : False. Proof. exact \u03b1\U0001d4b3. Qed.\n"
                      "ProofsmithAssumptions t.\n", encoding="utf-8")
    done = subprocess.run(["coqc", "-q", "-I", str(folder), source.name], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.isascii()  # non-ASCII names travel as \u escapes (a surrogate pair above U+FFFF)
    parsed = answer.parse_assumptions(line)
    (fact,) = parsed.facts
    assert fact.subject.name == "q.\u03b1\U0001d4b3" and fact.subject.declared is answer.Declared.AXIOM
    assert "\\ud835\\udcb3" in line


def test_an_answer_of_an_unknown_shape_is_never_read_in_part():
    good = {"proofsmith_kernel_query": 1, "global": {"kernel": "T.t", "canonical": "T.t", "name": "T.t",
            "origin": "current", "library": "T", "declared": "proof", "body": "opaque"},
            "theory": {"impredicative_set": False, "type_in_type": False}, "assumptions": []}
    assert answer.parse_assumptions(json.dumps(good)).facts == ()
    unknown = dict(good, assumptions=[{"kind": "new-kind-of-cheat", "kernel": "x"}])
    with pytest.raises(answer.KernelAnswerUnreadable, match="unknown FactKind"):
        answer.parse_assumptions(json.dumps(unknown))
    with pytest.raises(answer.KernelAnswerUnreadable):
        answer.parse_assumptions(json.dumps(good) + "\n" + json.dumps(good))


# ---------------------------------------------------------------- cheats judged "proved" before


def test_a_section_let_whose_body_is_admitted_is_not_a_hypothesis(session):
    result = check(session, ADMITTED + "Section S.\nLet l : False := adm.\n", "Theorem t_let : False.", "exact l.")
    assert result.verdict is Verdict.FAILED and "Top.adm (conjectural" in result.reason


def test_a_string_literal_that_looks_like_the_answer_hides_nothing(session):
    spelled = '"\nSection Variables:\nx : nat\nClosed under the global context\n"%string'
    header = f"Require Import String.\nLemma adm : {spelled} = \"\"%string. Admitted.\n"
    result = check(session, header, f"Theorem t_str : {spelled} = \"\"%string.", "exact adm.")
    assert result.verdict is Verdict.FAILED and "Top.adm (conjectural" in result.reason


def test_a_library_posing_as_coq_by_its_logical_name_is_refused(tmp_path):
    (tmp_path / "Fake.v").write_text("Axiom cheat : False.\n")
    subprocess.run(["coqc", "-Q", ".", "Coq.Fake", "Fake.v"], cwd=tmp_path, check=True, capture_output=True)
    with pytest.raises(CheckerUnavailable, match="logical root of Coq's installed libraries"):
        CoqSession(CheckerSettings(workers=1, coq_args=["-Q", str(tmp_path), "Coq.Fake"]))


def test_an_axiom_of_a_library_outside_coqs_folder_is_not_coqs_even_when_a_pattern_names_it(tmp_path):
    (tmp_path / "Lib.v").write_text("Axiom cheat : False.\n")
    subprocess.run(["coqc", "-Q", ".", "MyLib", "Lib.v"], cwd=tmp_path, check=True, capture_output=True)
    settings = CheckerSettings(workers=1, coq_args=["-Q", str(tmp_path), "MyLib"], coq_allowed_axioms=["*"])
    with CoqSession(settings) as s:
        result = check(s, "From MyLib Require Import Lib.\n", "Theorem t_lib : False.", "exact cheat.")
    assert result.verdict is Verdict.FAILED and "MyLib.Lib.cheat" in result.reason


def test_vernacular_that_opens_a_nested_proof_is_refused(session):
    header = "Require Import Program.\nSet Nested Proofs Allowed.\nProgram Definition p : {n : nat | n = 0} := 0.\n"
    result = check(session, header, "Theorem t_nested : True.", "Next Obligation. reflexivity. Qed. exact I.")
    assert result.verdict is Verdict.FAILED and "'Next'" in result.reason
    result = check(session, "", "Theorem t_plugin : True.", "Hammer_version. exact I.")
    assert result.verdict is Verdict.FAILED and "rejected" in result.reason


def test_a_name_and_a_line_that_disagree_are_an_error(coq_project):
    with pytest.raises(ContextError, match="no theorem named below at line 8"):
        theorem_in_context(str(coq_project), "theories/Middle.v", "below", 8)
    assert theorem_in_context(str(coq_project), "theories/Middle.v", "target", 8).name.endswith(".target")


def test_a_period_ends_a_sentence_only_before_a_blank_coq_knows(tmp_path):
    text = "exact I.\x0cexact I."
    assert len(split_sentences(text)) == 1  # coqc's lexer does not end the sentence at a form feed
    (tmp_path / "ff.v").write_text("Goal True. " + text + "\nQed.\n")
    done = subprocess.run(["coqc", "-q", "ff.v"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0


# ---------------------------------------------------------------- honest proofs lost before


def test_a_binder_named_like_an_admitted_global_costs_nothing(session):
    result = check(session, ADMITTED, "Theorem t_binder (adm : nat) : adm = adm.", "reflexivity.")
    assert result.proved, result.reason


def test_a_name_a_notation_made_a_keyword_is_still_the_problems(session):
    header = 'Axiom rem : nat -> nat -> nat.\nInfix "rem" := rem (at level 40).\n'
    result = check(session, header, "Theorem t_kw : 1 rem 2 = 1 rem 2.", "reflexivity.")
    assert result.proved and result.axioms == ("Top.rem",), result.reason


def test_declarations_through_include_and_declare_module_are_the_problems(session):
    header = "Module Type T.\nAxiom ax : False.\nEnd T.\nModule M.\nInclude T.\nEnd M.\nDeclare Module D : T.\n"
    assert check(session, header, "Theorem t_inc : False.", "exact M.ax.").proved
    assert check(session, header, "Theorem t_decl : False.", "exact D.ax.").proved


def test_unicode_names_attributes_and_universe_binders_in_statements(session):
    assert check(session, "", "Theorem \u03b1\u2081 : True.", "exact I.").proved
    assert check(session, "", "#[local] Lemma t_attr : True.", "exact I.").proved
    assert check(session, "", "Polymorphic Lemma t_univ@{u} (A : Type@{u}) (a : A) : a = a.", "reflexivity.").proved


def test_a_control_character_in_a_message_does_not_fail_the_proof(session):
    result = check(session, "", "Theorem t_ctrl : True.", 'idtac "a\x01b". exact I.')
    assert result.proved, result.reason


def test_the_stdlib_in_context_under_an_empty_allowed_list_keeps_its_loaded_files_axioms():
    theorem = theorem_in_context("stdlib", "theories/Logic/Classical_Pred_Type.v", "not_all_not_ex")
    with CoqSession(CheckerSettings(workers=1, coq_allowed_axioms=[])) as s:
        result = s.check(theorem, "intros P notall. apply NNPP. intro abs. apply notall. intros n H. "
                                  "apply abs. exists n. exact H.")
    assert result.proved, result.reason
    assert set(result.axioms) == {"Coq.Logic.Classical_Prop.classic", "U"}


# ---------------------------------------------------------------- bad input, temporary files, no plugin


def test_a_lone_surrogate_is_a_clear_rejection(session):
    result = check(session, "", "Theorem t_sur : True.", "exact I.\ud800")
    assert result.verdict is Verdict.FAILED and "lone surrogate" in result.reason
    with pytest.raises(CoqSyntaxError, match="U\\+DC00"):
        split_sentences("Lemma \udc00 : True.")


def test_native_compute_leaves_nothing_in_the_system_temp_folder():
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "Coq_native*")))
    with CoqSession(CheckerSettings(workers=1)) as s:
        s.check(Theorem("t_native", "Theorem t_native : 2 + 2 = 4."), "native_compute. reflexivity.")
        private = s._process._proc._cwd
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "Coq_native*"))) == before
    assert not Path(private).exists()


def test_without_the_plugin_coqs_own_answer_still_rejects_an_admitted_lemma(tmp_path, caplog):
    settings = CheckerSettings(workers=1, cache_dir=tmp_path)
    s = CoqSession.__new__(CoqSession)
    # a plugin folder that holds no plugin: the Declare ML Module fails, once, with a warning
    original = CoqSession.__init__

    def broken_init(self, settings):
        import proofsmith.checker.coq.session as session_module

        real = session_module.plugin_folder
        session_module.plugin_folder = lambda *a: tmp_path
        try:
            original(self, settings)
        finally:
            session_module.plugin_folder = real

    broken_init(s, settings)
    try:
        assert not s._kernel
        assert "does not load" in caplog.text
        result = check(s, ADMITTED, "Theorem t_fallback : False.", "exact adm.")
        assert result.verdict is Verdict.FAILED and "adm" in result.reason
        assert check(s, "", "Theorem t_fallback_ok (n : nat) : n + 0 = n.", "lia.").proved
    finally:
        s.close()


def test_a_body_hidden_in_a_sealed_module_is_read_from_its_implementation(session):
    header = ADMITTED + "Module Type T.\nParameter p : False.\nEnd T.\nModule M : T.\nDefinition p : False := adm.\nEnd M.\n"
    result = check(session, header, "Theorem t_sealed : False.", "exact M.p.")
    assert result.verdict is Verdict.FAILED and "Top.adm (conjectural" in result.reason


def test_coqs_primitives_are_its_librarys_assumptions(session):
    result = check(session, "Require Import Uint63.\n", "Theorem t_prim (x : int) : (x + 0)%uint63 = (x + 0)%uint63.",
                   "reflexivity.")
    assert result.proved and "Coq.Numbers.Cyclic.Int63.PrimInt63.add" in result.axioms, result.reason


def test_answers_kept_on_disk_are_the_answers_learned(tmp_path):
    theorem = Theorem("t_disk", "Theorem t_disk (x : nat) : x + 1 > x.")
    answers = []
    for _ in range(2):  # the second process reads what the first one wrote
        with CoqSession(CheckerSettings(workers=1, cache_dir=tmp_path)) as s:
            result = s.check(theorem, "lia.")
            assert result.proved, result.reason
            answers.append(result.axioms)
    assert list((tmp_path / "coq-kernel-answers").glob("*/*.answers"))
    assert answers[0] == answers[1]
