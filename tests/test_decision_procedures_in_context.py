"""Decision procedures loaded in a library theorem's context (issue 26, item 3), end to end against real Coq:
`proofsmith eval --decision-procedures`, the checker's trusted loads after the statement, the recorded
decision, `proofsmith recheck` replaying the loads and refusing a load that reaches the theorem's own file.

The library (written here, compiled): DPLib.A, which loads nothing (so `lia` is unknown in it), and DPLib.B,
which requires A. Its trace is written by hand with a real import graph (corpus.jsonl: B imports A).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from proofsmith.checker.types import Place, Theorem
from proofsmith.cli import main
from proofsmith.prover.decision_procedures import PROCEDURES, DecisionProcedure, leak_check
from proofsmith.prover.library_order import file_modules
from proofsmith.retrieval.corpus import Corpus
from tests.hand_trace import write_hand_trace

from .cli_errors import usage_error

A = """(* Nothing here loads Lia: `lia` is not a tactic of this file. *)
Definition five := 5.

Lemma needs_lia : forall n m : nat, 2 * n + 3 * m <= 5 * (n + m) + 1.
Proof. Require Import Coq.micromega.Lia. lia. Qed.
"""
B = """Require Import DPLib.A.

Lemma uses_five : five = 5.
Proof. reflexivity. Qed.
"""
TARGET = "DPLib.A.needs_lia"
LINE = 4  # of its statement in A.v
# A procedure whose library is B.v, which requires A.v.
NEEDS_B = DecisionProcedure("b-tactics", ("b_tac.",), ("DPLib.B",))


def _premise(name: str, line: int) -> dict:
    return {"full_name": name, "code": f"{name.rsplit('.', 1)[-1]} : nat", "start": [line, 1], "end": [line, 20],
            "kind": "Definition"}


@pytest.fixture(scope="module")
def dplib(tmp_path_factory) -> tuple[Path, Path]:
    """(the compiled library's folder, its trace folder; random/test holds needs_lia)."""
    tmp = tmp_path_factory.mktemp("dplib")
    root = tmp / "dplib"
    root.mkdir()
    (root / "A.v").write_text(A)
    (root / "B.v").write_text(B)
    (root / "_CoqProject").write_text("-R . DPLib\nA.v\nB.v\n")
    for name in ("A.v", "B.v"):
        subprocess.run(["coqc", "-R", ".", "DPLib", name], cwd=root, check=True, capture_output=True)
    theorem = {"url": "", "commit": "", "file_path": "dplib/A.v", "full_name": TARGET, "start": [LINE, 1],
               "end": [LINE + 1, 50], "traced_tactics": [], "kind": "Lemma", "module": "DPLib.A",
               "statement": "", "type": "", "proof": "Proof. Require Import Coq.micromega.Lia. lia."}
    trace = write_hand_trace(tmp / "trace", [theorem], name="dplib", logical="DPLib", root=root,
                             load_path=["-R", str(root), "DPLib"])
    corpus = [{"path": "dplib/A.v", "imports": [], "premises": [_premise("DPLib.A.five", 2)]},
              {"path": "dplib/B.v", "imports": ["dplib/A.v"], "premises": [_premise("DPLib.B.uses_five", 3)]}]
    (trace / "corpus.jsonl").write_text("".join(json.dumps(f) + "\n" for f in corpus))
    return root, trace


def _eval(trace: Path, out: Path, *extra: str) -> int:
    return main(["eval", "--benchmark", "coq-library", "--data", str(trace), "--split", "random/test",
                 "--prover", "model-free-search", "--budget-s", "15", "--workers", "1", "--no-progress",
                 "--out", str(out), *extra])


@pytest.fixture(scope="module")
def runs(dplib, tmp_path_factory) -> tuple[Path, Path]:
    """(the run with --decision-procedures lia,lra, the strict run), on the same theorem and budget."""
    _, trace = dplib
    tmp = tmp_path_factory.mktemp("dp_runs")
    assert _eval(trace, tmp / "dp", "--decision-procedures", "lia,lra") == 0
    assert _eval(trace, tmp / "strict") == 0
    return tmp / "dp", tmp / "strict"


def _record(run: Path) -> dict:
    (record,) = (json.loads(line) for line in (run / "results.jsonl").read_text().splitlines())
    return record


# ---------------------------------------------------------------- the leak check on this library


def test_the_leak_check_refuses_a_procedure_whose_library_depends_on_the_targets_file(dplib):
    _, trace = dplib
    corpus = Corpus.load(trace / "corpus.jsonl")
    modules = file_modules(trace, corpus.files)
    refused = leak_check(corpus, modules, "dplib/A.v", NEEDS_B)
    assert not refused.sound and "loads dplib/A.v itself" in refused.reason
    assert "loads dplib/B.v itself" in leak_check(corpus, modules, "dplib/B.v", NEEDS_B).reason  # its own file
    # Lia is not a file of this trace, but Coq's own library cannot load DPLib.A
    lia = leak_check(corpus, modules, "dplib/A.v", PROCEDURES["lia"])
    assert lia.sound and "Coq's own library" in lia.reason and lia.loaded == ("Coq.micromega.Lia",)


def test_a_load_is_a_module_name_and_nothing_else():
    with pytest.raises(ValueError, match="not a logical module name"):
        Place("stdlib", "theories/Arith/PeanoNat.v", 1, ("Coq.micromega.Lia. Axiom cheat : False",))
    assert Place("p", "A.v", 1, ("Coq.micromega.Lia",)).load_sentence == "Require Import Coq.micromega.Lia."


# ---------------------------------------------------------------- the checker's trusted loads


@pytest.mark.coq
def test_the_checker_loads_the_modules_after_the_statement_and_still_refuses_a_require_in_the_proof(dplib):
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings
    from proofsmith.formats.coq_load_path import LoadPath

    root, _ = dplib
    strict = Theorem(TARGET, "Lemma needs_lia : forall n m : nat, 2 * n + 3 * m <= 5 * (n + m) + 1.",
                     place=Place(str(root), "A.v", LINE))
    loaded = Theorem(strict.name, strict.statement, place=Place(str(root), "A.v", LINE, ("Coq.micromega.Lia",)))
    settings = CheckerSettings(workers=1, timeout_s=30).with_load_path(LoadPath.from_project(root))
    with open_checker("coq", settings) as checker:
        assert checker.check(loaded, "intros n m. lia.").proved
        refused = checker.check(loaded, "Require Import Coq.micromega.Lia. lia.")
        assert not refused.proved and refused.reason.startswith("rejected"), refused
        # the same session, back at the file: the load does not outlive the proof that made it
        strict_result = checker.check(strict, "intros n m. lia.")
        assert not strict_result.proved and "lia" in strict_result.reason, strict_result
        assert not checker.check(strict, "Require Import Coq.micromega.Lia. lia.").proved
        with checker.session() as session:  # the interactive proof starts after the loads too
            state = session.open(loaded)
            assert type(session.run(state, "lia.")).__name__ == "ProofFinished"
            assert type(session.run(session.open(strict), "lia.")).__name__ == "TacticError"


# ---------------------------------------------------------------- eval, its records, recheck


@pytest.mark.coq
def test_lia_proves_the_theorem_only_in_the_run_that_loads_it_and_the_load_is_recorded(runs):
    dp, strict = runs
    loaded, plain = _record(dp), _record(strict)
    assert loaded["verdict"] == "proved" and "lia" in loaded["proof"], loaded
    assert plain["verdict"] != "proved", plain
    assert loaded["place"]["loads"] == ["Coq.micromega.Lia", "Coq.micromega.Lra"]
    decided = loaded["decision_procedures"]
    assert decided["loaded"] == ["lia", "lra"] and decided["refused"] == {}
    assert decided["decisions"]["lia"]["sound"] and "Coq's own library" in decided["decisions"]["lia"]["reason"]
    assert "decision_procedures" not in plain and plain["place"]["loads"] == []
    assert json.loads((dp / "run.json").read_text())["decision_procedures"] == ["lia", "lra"]
    assert "decision_procedures" not in json.loads((strict / "run.json").read_text())
    summary = json.loads((dp / "summary.json").read_text())
    assert summary["decision_procedures"]["loaded"] == {"lia": 1, "lra": 1}
    assert "decision procedures lia,lra where sound" in (dp / "report.md").read_text()


@pytest.mark.coq
def test_the_two_rows_never_mix(runs, dplib, capsys):
    dp, strict = runs
    _, trace = dplib
    for run, extra in ((dp, ()), (strict, ("--decision-procedures", "lia"))):  # a resume with the other setting
        err = usage_error(capsys, ["eval", "--benchmark", "coq-library", "--data", str(trace), "--split",
                                   "random/test", "--prover", "model-free-search", "--budget-s", "15", "--workers",
                                   "1", "--no-progress", "--out", str(run), *extra])
        assert "decision_procedures" in err and "started with other options" in err, err
    assert main(["compare", str(strict), str(dp)]) == 0
    assert "model-free-search + decision procedures lia,lra where sound" in capsys.readouterr().out


@pytest.mark.coq
def test_recheck_replays_the_recorded_load_and_refuses_one_that_reaches_the_theorems_file(runs, tmp_path, capsys):
    dp, _ = runs
    assert main(["recheck", str(dp), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "1 re-checked by plain coqc, 1 passed" in printed and "Coq.micromega.Lia (1)" in printed, printed
    record = _record(dp)
    for loads, reason in ((["DPLib.A"], "is the theorem's own file (DPLib.A): a leak"),
                          (["Coq.micromega.Lia", "DPLib.B"], "brings the theorem's own file DPLib.A")):
        tampered = tmp_path / loads[-1]
        shutil.copytree(dp, tampered)
        (tampered / "results.jsonl").write_text(json.dumps(record | {"place": record["place"] | {"loads": loads}})
                                                + "\n")
        assert main(["recheck", str(tampered), "--no-progress"]) == 1
        printed = capsys.readouterr().out
        assert f"FAILED proof {TARGET}:" in printed and reason in printed, printed
    # without its load the proof is not one (lia is unknown in A.v)
    stripped = tmp_path / "stripped"
    shutil.copytree(dp, stripped)
    (stripped / "results.jsonl").write_text(json.dumps(record | {"place": record["place"] | {"loads": []}}) + "\n")
    assert main(["recheck", str(stripped), "--no-progress"]) == 1
    assert "lia" in capsys.readouterr().out


def test_an_unknown_procedure_or_another_benchmark_is_one_line_naming_it(dplib, tmp_path, capsys):
    _, trace = dplib
    err = usage_error(capsys, ["eval", "--benchmark", "coq-library", "--data", str(trace), "--split", "random/test",
                               "--prover", "model-free-search", "--decision-procedures", "lia,omega",
                               "--out", str(tmp_path / "x")])
    assert "unknown decision procedure 'omega'" in err and "lia, lra, hammer" in err
    err = usage_error(capsys, ["eval", "--benchmark", "minif2f-coq", "--split", "valid", "--decision-procedures", "lia",
                               "--out", str(tmp_path / "y")])
    assert "--decision-procedures" in err and "coq-library" in err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
