"""`proofsmith recheck` (eval.recheck): plain coqc's verdict on proofs, outside every proofsmith session.

Every headline number rests on this re-check, so it must reject what Coq would not accept as a
closed proof of the stated theorem (including the holes a hostile tester found in the bench script
it replaces: a proof left open by `Set Nested Proofs Allowed`, an `idtac` printing Print
Assumptions' answer) and accept what it would, with the library cases the checker allows: section
variables and a functor's parameters.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proofsmith.checker.settings import DEFAULT_COQ_PRELUDE, HAMMER_PRELUDE
from proofsmith.cli import main
from proofsmith.eval.coqc_answers import AnswerError, between, marker_command, parse_assumptions
from proofsmith.eval.recheck import FileProblem, HeaderProblem, RecheckItem, coq_theories, recheck
from tests.hand_trace import write_hand_trace

MIDDLE = "theories/Middle.v"
HAMMER = f"{DEFAULT_COQ_PRELUDE} {HAMMER_PRELUDE}"


def _header(proof: str, statement: str, header: str = "", prelude: str = DEFAULT_COQ_PRELUDE, **kw):
    return recheck(RecheckItem("proof", "t", proof, HeaderProblem(prelude, header, statement, **kw)))


def _in_context(project, name: str, proof: str, line: int):
    return recheck(RecheckItem("proof", name, proof, FileProblem(str(project), MIDDLE, name, line)))


# ---------------------------------------------------------------- reading coqc's answers (no Coq needed)


def test_an_answer_is_read_only_between_its_markers_each_printed_once():
    begin, end = "proofsmith_recheck_ab12_assumptions_begin", "proofsmith_recheck_ab12_assumptions_end"
    answer = lambda m: marker_command(m).replace("Locate ", "No object of basename ").rstrip(".\n")  # noqa: E731
    output = f"Closed under the global context\n{answer(begin)}\nAxioms:\ncheat : False\n{answer(end)}\n"
    inside = between(output, begin, end)
    assert parse_assumptions(inside).names == ("cheat",)
    with pytest.raises(AnswerError, match="printed 2 times"):
        between(output + answer(begin) + "\n", begin, end)
    with pytest.raises(AnswerError, match="printed 0 times"):
        between("Closed under the global context\n", begin, end)


def test_print_assumptions_answers_list_names_and_unsafe_definitions():
    listed = parse_assumptions("Section Variables:\nkp\n: k = k\nAxioms:\nclassic : forall P : Prop,\n  P \\/ ~ P\nP.x : nat")
    assert not listed.closed and listed.names == ("kp", "classic", "P.x") and not listed.unsafe
    unsafe = parse_assumptions("Axioms:\nt relies on an unsafe hierarchy.\nloop is assumed to be guarded.\n"
                               "Theory:\nType hierarchy is collapsed (logic is inconsistent)")
    assert unsafe.names == () and len(unsafe.unsafe) == 3
    assert parse_assumptions("Closed under the global context").closed
    with pytest.raises(AnswerError):
        parse_assumptions("Closed under the global context\nAxioms:\nx : False")
    with pytest.raises(AnswerError):
        parse_assumptions("Axioms:\n!! not a name")


# ---------------------------------------------------------------- a statement under a header


@pytest.mark.coq
def test_header_axioms_from_the_stdlib_and_declared_ones_pass_others_fail():
    classical = _header("intros P. apply Classical_Prop.classic.", "Theorem t : forall P : Prop, P \\/ ~ P.",
                        "Require Import Classical.")
    assert classical.ok and classical.axioms == ("Coq.Logic.Classical_Prop.classic",), classical
    declared = _header("exact oracle.", "Theorem t : 1 = 2.", "Axiom oracle : 1 = 2.")
    assert declared.ok, declared
    # a mutant's header is its file's imports: there, a declared axiom fails too
    strict = _header("exact oracle.", "Theorem t : 1 = 2.", "Axiom oracle : 1 = 2.", header_axioms=False)
    assert not strict.ok and "outside Coq's standard library" in strict.reason, strict
    assert not _header("exact M.oracle.", "Theorem t : 1 = 2.", "Module M. Definition x := 0. End M.").ok


@pytest.mark.coq
def test_an_admitted_helper_in_the_header_fails_with_the_reason():
    done = _header("exact helper.", "Theorem t : 1 = 2.", "Lemma helper : 1 = 2.\nAdmitted.")
    assert not done.ok and "helper" in done.reason and "admit" in done.reason, done
    # the same name also declared as an axiom elsewhere in the header does not make it allowed
    both = _header("exact helper.", "Theorem t : 1 = 2.", "Module M. Axiom helper : 1 = 2. End M.\n"
                   "Lemma helper : 1 = 2.\nAdmitted.")
    assert not both.ok, both
    assert _header("admit.", "Theorem t : 1 = 2.").reason == "the proof admits (admit)"


@pytest.mark.coq
def test_a_proof_left_open_by_nested_proofs_fails():
    # the outer theorem stays open at the end of the file (coqc exits 0), the name is a definition
    proof = "Set Nested Proofs Allowed. Definition t := 0. Lemma l : True. exact I."
    done = _header(proof, "Theorem t : 1 = 2.")
    assert not done.ok and "still open" in done.reason, done


@pytest.mark.coq
def test_printing_the_closed_answer_from_the_proof_does_not_pass():
    proof = 'idtac "Closed under the global context". Axiom cheat : 1 = 2. exact cheat.'
    done = _header(proof, "Theorem t : 1 = 2.")
    assert not done.ok and "cheat" in done.reason and "the proof itself declares" in done.reason, done


@pytest.mark.coq
def test_a_proof_that_aborts_and_states_another_theorem_fails():
    done = _header("Abort. Theorem t : True. exact I.", "Theorem t : 1 = 2.")
    assert not done.ok and "does not end with the stated theorem proved" in done.reason, done


@pytest.mark.coq
def test_an_axiom_from_a_library_bound_to_a_coq_name_from_elsewhere_fails(tmp_path):
    (tmp_path / "Fake.v").write_text("Axiom cheat : False.\n")
    subprocess.run(["coqc", "-Q", ".", "Coq.Evil", "Fake.v"], cwd=tmp_path, check=True, capture_output=True)
    proof = f'Add LoadPath "{tmp_path}" as Coq.Evil. Require Import Coq.Evil.Fake. exact cheat.'
    done = _header(proof, "Theorem t : False.")
    assert not done.ok and "Coq.Evil.Fake.cheat" in done.reason and str(tmp_path / "Fake.vo") in done.reason, done
    # nor does a tampered record's prelude make its own axioms part of the problem
    done = _header("lra.", "Theorem t : 1 = 2.", prelude=f"{DEFAULT_COQ_PRELUDE} Axiom cheat : False. "
                   "Ltac lra := exact (False_ind _ cheat).")
    assert not done.ok and "cheat" in done.reason, done


@pytest.mark.coq
def test_a_definition_accepted_without_the_guard_check_is_rejected_as_unsafe():
    header = "Unset Guard Checking.\nFixpoint loop (n : nat) : False := loop n.\nSet Guard Checking."
    done = _header("exact (loop 0).", "Theorem t : False.", header)
    assert not done.ok and "unsafe" in done.reason and "loop is assumed to be guarded" in done.reason, done
    # switched off by the proof itself
    done = _header("Unset Universe Checking. exact I.", "Theorem t : True.")
    assert not done.ok and "unsafe hierarchy" in done.reason, done


@pytest.mark.coq
@pytest.mark.skipif(not (coq_theories().parent / "user-contrib" / "Hammer").is_dir(), reason="CoqHammer not installed")
def test_the_recorded_prelude_is_the_one_compiled():
    statement = "Theorem t : forall n : nat, n + 0 = n."
    assert _header("sauto.", statement, prelude=HAMMER).ok
    done = _header("sauto.", statement)  # recorded without the hammer: its tactics are not there
    assert not done.ok and "sauto" in done.reason, done


# ---------------------------------------------------------------- a library theorem in its own file


@pytest.mark.coq
def test_in_context_human_proof_is_closed(coq_project):
    done = _in_context(coq_project, "target", "rewrite <- plus_n_O. exact above.", 8)
    assert done.ok and done.reason == "closed under the global context", done


@pytest.mark.coq
def test_in_context_proof_through_an_admitted_lemma_is_rejected(coq_project):
    proof = "pose proof (double_inj 0 0) as _H. rewrite <- plus_n_O. exact above."
    done = _in_context(coq_project, "target", proof, 8)
    assert not done.ok and "outside Coq's standard library" in done.reason and "double_inj" in done.reason, done


@pytest.mark.coq
def test_in_context_wrong_proof_and_later_lemmas_are_rejected(coq_project):
    assert not _in_context(coq_project, "target", "reflexivity. reflexivity.", 8).ok
    # nothing after the statement is loaded
    done = _in_context(coq_project, "target", "exact below.", 8)
    assert not done.ok and "below" in done.reason, done


@pytest.mark.coq
def test_section_variables_and_functor_parameters_are_hypotheses(coq_project):
    done = _in_context(coq_project, "sec_lemma", "apply Nat.lt_lt_add_r. exact k_pos.", 18)
    assert done.ok and "k_pos" in done.hypotheses and not done.axioms, done
    done = _in_context(coq_project, "in_functor", "exact x_pos.", 35)
    assert done.ok and done.hypotheses == ("P.x_pos",), done


@pytest.mark.coq
def test_a_module_types_fields_are_hypotheses_the_files_axioms_are_not(tmp_path):
    (tmp_path / "_CoqProject").write_text("-Q . Lib\n")
    (tmp_path / "Sig.v").write_text(
        "Axiom oracle : 1 = 2.\n"
        "Module Type T.\n  Parameter x : nat.\n  Axiom x_pos : 0 < x.\n"
        "  Lemma in_type : 0 < x.\n  Proof. exact x_pos. Qed.\nEnd T.\n"
        "Lemma outside : 1 = 2.\nProof. exact oracle. Qed.\n")
    in_type = recheck(RecheckItem("proof", "in_type", "exact x_pos.", FileProblem(str(tmp_path), "Sig.v", "in_type", 5)))
    assert in_type.ok and in_type.hypotheses == ("Lib.Sig.T.x_pos",), in_type
    outside = recheck(RecheckItem("proof", "outside", "exact oracle.", FileProblem(str(tmp_path), "Sig.v", "outside", 8)))
    assert not outside.ok and "Lib.Sig.oracle" in outside.reason, outside


@pytest.mark.coq
def test_an_assumption_named_by_a_word_the_files_notation_made_a_keyword_is_located(tmp_path):
    # as stdlib's ZDivTrunc (`Infix "rem"`): Print Assumptions lists `quot`, and `Locate quot.` does not parse
    (tmp_path / "_CoqProject").write_text("-Q . Lib\n")
    (tmp_path / "Quot.v").write_text(
        "Axiom oracle : forall (A : Type) (x y : A), x = y.\n"
        "Module Type QuotSig.\n  Parameter t : Type.\n  Parameter quot : t -> t -> t.\n"
        '  Infix "quot" := quot (at level 40, left associativity).\n'
        "  Axiom quot_comm : forall a b : t, a quot b = b quot a.\nEnd QuotSig.\n"
        "Module Type QuotProp (Import Q : QuotSig).\n"
        "  Lemma quot_comm' : forall a b : t, (a quot b) quot a = a quot (a quot b).\n"
        "  Proof. intros a b. apply quot_comm. Qed.\nEnd QuotProp.\n")

    def quot_comm(proof: str):
        return recheck(RecheckItem("proof", "quot_comm'", proof, FileProblem(str(tmp_path), "Quot.v", "quot_comm'", 9)))

    honest = quot_comm("intros a b. apply quot_comm.")
    assert honest.ok and set(honest.hypotheses) == {"Q.t", "Q.quot", "Q.quot_comm"} and not honest.axioms, honest
    declared = quot_comm("intros a b. Axiom cheat : forall a b : t, a quot b = b quot a. apply cheat.")
    assert not declared.ok and "cheat: an axiom the proof itself declares" in declared.reason, declared
    # Ltac2 the proof loads after its own Qed changes nothing the locators, defined above everything, run
    hijack = quot_comm("intros a b. Axiom cheat : forall a b : t, a quot b = b quot a. apply cheat. Qed. "
                       'From Ltac2 Require Import Ltac2. Ltac2 Notation "Constant" := (). '
                       "Module Ltac2. Module Message. Ltac2 print (m : message) := (). End Message. End Ltac2. "
                       "Lemma extra : True. exact I.")
    assert not hijack.ok and "cheat: an axiom the proof itself declares" in hijack.reason, hijack
    files_axiom = quot_comm("intros a b. apply oracle.")
    assert not files_axiom.ok and "Lib.Quot.oracle" in files_axiom.reason, files_axiom


@pytest.mark.coq
def test_a_stdlib_theorem_in_its_file_may_use_the_files_own_axioms():
    done = recheck(RecheckItem("proof", "NNPP", "unfold not; intros; elim (classic p); auto. intro NP; elim (H NP).",
                               FileProblem("stdlib", "theories/Logic/Classical_Prop.v", "Coq.Logic.Classical_Prop.NNPP")))
    assert done.ok and done.axioms == ("Coq.Logic.Classical_Prop.classic",), done


# ---------------------------------------------------------------- the command, on runs


def _run_folder(path: Path, run: dict, records: list[dict]) -> Path:
    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps({"backend": "coq", "prelude": DEFAULT_COQ_PRELUDE, **run}))
    (path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _proved(name: str, proof: str, prelude: str = DEFAULT_COQ_PRELUDE) -> dict:
    return {"name": name, "verdict": "proved", "proof": proof, "checker": {"backend": "coq", "prelude": prelude}}


MINIF2F = {"benchmark": "minif2f-coq", "split": "test", "data": None}


@pytest.mark.coq
def test_an_honest_minif2f_run_passes(tmp_path, capsys):
    run = _run_folder(tmp_path / "run", MINIF2F, [
        _proved("mathd_algebra_176", "lra."), _proved("amc12b_2002_p2", "lia."),
        _proved("mathd_numbertheory_3", "reflexivity."),
        {"name": "imo_1959_p1", "verdict": "failed", "proof": None},
    ])
    assert main(["recheck", str(run), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "3 re-checked by plain coqc, 3 passed, 0 failed" in out, out
    assert "Coq.Reals.ClassicalDedekindReals.sig_forall_dec" in out


@pytest.mark.coq
def test_a_run_with_planted_cheats_fails_each_with_its_reason(tmp_path, capsys):
    run = _run_folder(tmp_path / "run", MINIF2F, [
        _proved("mathd_numbertheory_3", "reflexivity."),
        # passes only with the hammer's prelude, recorded without it
        _proved("mathd_numbertheory_239", "sauto."),
        _proved("mathd_numbertheory_342", "Set Nested Proofs Allowed. Definition mathd_numbertheory_342 := 0. "
                                          "Lemma l : True. exact I."),
        _proved("mathd_numbertheory_430", 'idtac "Closed under the global context". Axiom cheat : False. '
                                          "exact (False_ind _ cheat)."),
        _proved("not_in_the_benchmark", "reflexivity."),
    ])
    assert main(["recheck", str(run), "--no-progress", "--jobs", "2"]) == 1
    out = capsys.readouterr().out
    assert "5 re-checked by plain coqc, 1 passed, 4 failed" in out, out
    failures = {line.split()[2].rstrip(":"): line for line in out.splitlines() if line.startswith("FAILED")}
    assert set(failures) == {"mathd_numbertheory_239", "mathd_numbertheory_342", "mathd_numbertheory_430",
                             "not_in_the_benchmark"}, out
    assert "sauto" in failures["mathd_numbertheory_239"]
    assert "still open" in failures["mathd_numbertheory_342"]
    assert "cheat" in failures["mathd_numbertheory_430"]
    assert "not a problem of minif2f-coq test" in failures["not_in_the_benchmark"]


@pytest.mark.coq
def test_a_check_output_is_rechecked_against_the_input_it_judged(tmp_path, capsys):
    lines = [
        {"name": "honest", "header": "Require Import Arith.", "statement": "Theorem honest : 2 + 2 = 4.",
         "proof": "reflexivity."},
        {"name": "helped", "header": "Lemma helper : 1 = 2.\nAdmitted.", "statement": "Theorem helped : 1 = 2.",
         "proof": "exact helper."},
        {"name": "refused", "header": "", "statement": "Theorem refused : 1 = 2.", "proof": "auto."},
    ]
    checked = tmp_path / "in.jsonl"
    checked.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "out.jsonl"
    verdicts = ["proved", "proved", "failed"]
    out.write_text("".join(json.dumps({"name": line["name"], "verdict": v, "reason": "", "axioms": [], "time_s": 0})
                           + "\n" for line, v in zip(lines, verdicts)))
    assert main(["recheck", str(out), "--input", str(checked), "--no-progress"]) == 1
    printed = capsys.readouterr().out
    assert "2 re-checked by plain coqc, 1 passed, 1 failed" in printed, printed
    assert "FAILED proof helped:" in printed and "admit" in printed
    assert main(["recheck", str(out), "--no-progress"]) == 2
    assert "give --input" in capsys.readouterr().err


def _hand_trace(tmp_path: Path, project: Path, theorems: list[tuple[str, int]]) -> Path:
    """A trace folder of the fixture project as `proofsmith trace` writes it, its random/test holding `theorems`."""
    test = [{"url": "", "commit": "", "file_path": MIDDLE, "full_name": f"Proj.Middle.{name}", "start": [line, 1],
             "end": [line + 1, 5], "traced_tactics": [], "kind": "Lemma", "proof": ""} for name, line in theorems]
    return write_hand_trace(tmp_path / "trace", test, name="proj", logical="Proj", root=project / "theories",
                            load_path=[])


@pytest.mark.coq
def test_an_in_context_library_run_passes_and_a_tampered_one_fails(coq_project, tmp_path, capsys):
    trace = _hand_trace(tmp_path, coq_project, [("target", 8), ("sec_lemma", 18), ("in_functor", 35)])
    library = {"benchmark": "coq-library", "split": "random/test", "data": str(trace)}
    honest = [_proved("Proj.Middle.target", "Proof.\nrewrite <- plus_n_O. exact above."),
              _proved("Proj.Middle.sec_lemma", "apply Nat.lt_lt_add_r. exact k_pos."),
              _proved("Proj.Middle.in_functor", "exact x_pos.")]
    assert main(["recheck", str(_run_folder(tmp_path / "honest", library, honest)), "--no-progress"]) == 0
    assert "3 re-checked by plain coqc, 3 passed, 0 failed" in capsys.readouterr().out
    tampered = [honest[0] | {"proof": "pose proof (double_inj 0 0) as _H. rewrite <- plus_n_O. exact above."}]
    assert main(["recheck", str(_run_folder(tmp_path / "tampered", library, tampered)), "--no-progress"]) == 1
    printed = capsys.readouterr().out
    assert "FAILED proof Proj.Middle.target:" in printed and "Proj.Base.double_inj" in printed, printed


def test_a_bad_path_is_one_line_naming_it(tmp_path, capsys):
    assert main(["recheck", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "nowhere: no such file or folder" in err and "Traceback" not in err
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text("{not json")
    assert main(["recheck", str(tmp_path / "run")]) == 2
    assert "run.json: not readable as JSON" in capsys.readouterr().err
    other = tmp_path / "other.jsonl"
    other.write_text('{"a": 1}\n')
    assert main(["recheck", str(other)]) == 2
    assert "not an eval run folder, an iterate round, a mutant corpus" in capsys.readouterr().err


def _mutant(name: str, statement: str, proof: str, parent_statement: str, prelude: str = DEFAULT_COQ_PRELUDE) -> dict:
    return {"name": name, "split": "train", "header": "Require Import Arith.", "statement": statement, "proof": proof,
            "source": "coq/coq@V8.16.1 theories/Arith/PeanoNat.v", "parent": "Coq.Init.Peano.plus_n_O",
            "parent_statement": parent_statement, "rule": "rewrite", "use": "", "premise": "", "location": "",
            "proof_style": "", "discovery_tactic": "", "key": name, "file_path": "theories/Arith/PeanoNat.v",
            "position": [1, 1], "traced_tactics": [], "checker": {"backend": "coq", "prelude": prelude}}


@pytest.mark.coq
def test_an_iterate_round_is_rechecked_under_each_proofs_recorded_prelude(coq_project, tmp_path, capsys):
    """Library theorems in their file, mutants from the manifest's corpus, conjectures and kept ones."""
    corpus = tmp_path / "mutants.jsonl"
    corpus.write_text(json.dumps(_mutant("m1", "Theorem m1 : forall n : nat, n = n + 0.", "intros; lia.",
                                         "Theorem plus_n_O : forall n : nat, n = n + 0.")) + "\n")
    rd = tmp_path / "run" / "round-1"
    rd.mkdir(parents=True)
    (rd / "manifest.json").write_text(json.dumps({"inputs": {"mutants": {"path": str(corpus)}}}))
    place = {"project": str(coq_project), "file": MIDDLE, "line": 8}
    (rd / "pool.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        _proved("Proj.Middle.target", "rewrite <- plus_n_O. exact above.") | {"place": place},
        _proved("m1", "intros; lia."),
        {"name": "m2", "verdict": "failed", "proof": None},
    ]))
    conjecture = {"name": "c1", "header": "", "statement": "Theorem c1 : forall n : nat, n + 0 = n."}
    (rd / "conjectures.jsonl").write_text(json.dumps(conjecture) + "\n")
    # found by a hammer prover: its recorded prelude loads the hammer's tactics
    (rd / "conjecture_results.jsonl").write_text(json.dumps(_proved("c1", "sauto.", prelude=HAMMER)) + "\n")
    (rd / "kept_conjectures.jsonl").write_text(json.dumps(conjecture | {"proof": "sauto."}) + "\n")
    assert main(["recheck", str(rd), "--no-progress"]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "(iterate round): 4 re-checked by plain coqc, 4 passed, 0 failed" in out, out
    assert "kept conjecture: 1/1 passed" in out and "proof of a dataset statement: 2/2 passed" in out


@pytest.mark.coq
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_no_coqc_outlives_an_interrupted_recheck(tmp_path, signum):
    import psutil

    from .processes import alive

    lines = [{"name": f"loop{i}", "header": "", "statement": f"Theorem loop{i} : True.", "proof": "repeat idtac."}
             for i in range(3)]
    checked = tmp_path / "in.jsonl"
    checked.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "out.jsonl"
    out.write_text("".join(json.dumps({"name": line["name"], "verdict": "proved"}) + "\n" for line in lines))
    proofsmith = Path(sys.executable).with_name("proofsmith")
    proc = subprocess.Popen([str(proofsmith), "recheck", str(out), "--input", str(checked), "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    coqc: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while len(coqc) < 2:  # both jobs compiling a proof that never ends
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            coqc = [p for p in psutil.Process(proc.pid).children(recursive=True) if p.name().startswith("coqc")]
            time.sleep(0.2)
        proc.send_signal(signum)
        assert proc.wait(timeout=15) == (-signal.SIGKILL if signum == signal.SIGKILL else 130)
        deadline = time.monotonic() + 10
        while alive(coqc) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(coqc), [p.pid for p in alive(coqc)]
    finally:
        for p in alive(coqc):
            p.kill()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
