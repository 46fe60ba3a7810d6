"""`proofsmith prove`: the statement each backend takes, the proof printed, errors named."""

from __future__ import annotations

import json
import shutil

import pytest

from proofsmith.cli import main


@pytest.mark.coq
def test_prove_prints_a_proof_coq_accepts(capsys):
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.types import Theorem

    statement = "Theorem t_comm : forall a b : nat, a + b = b + a."
    assert main(["prove", statement, "--budget-s", "30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "proved" and out["name"] == "t_comm"
    with open_checker("coq") as checker:
        assert checker.check(Theorem("t_comm", statement), out["proof"]).proved


@pytest.mark.coq
def test_prove_reports_a_false_statement_as_not_proved(capsys):
    code = main(["prove", "Theorem t_false : forall n : nat, n + 1 = n.", "--budget-s", "5", "--expansions", "3"])
    assert code == 1
    assert capsys.readouterr().out.startswith("no proof: ")


def test_prove_names_a_statement_in_the_wrong_syntax(capsys):
    assert main(["prove", "theorem t (n : Nat) : n + 0 = n"]) == 2
    err = capsys.readouterr().err
    assert "expected 'Theorem NAME" in err and "--backend coq" in err
    assert main(["prove", "--backend", "lean", "Theorem t : 1 = 1."]) == 2
    assert "expected 'theorem NAME" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("lake") is not None, reason="a Lean toolchain is installed: the search would run")
def test_prove_takes_lean_syntax_and_says_how_to_get_lean(capsys):
    # The statement parses (with or without its placeholder proof); with no
    # toolchain the command stops with exit 3 and the install hint.
    for statement in ("theorem t (n : Nat) : n + 0 = n := by sorry", "theorem t (n : Nat) : n + 0 = n"):
        assert main(["prove", "--backend", "lean", statement, "--budget-s", "5"]) == 3
        assert "lake" in capsys.readouterr().err


@pytest.mark.coq
def test_prove_takes_a_memory_and_prover_options(capsys, tmp_path, monkeypatch):
    from tests.test_project_build import two_file_project

    monkeypatch.setenv("PROOFSMITH_CACHE_DIR", str(tmp_path / "cache"))
    project = two_file_project(tmp_path / "P")
    trace = tmp_path / "trace"
    assert main(["trace", "--library", str(project), "--out", str(trace), "--eval-fraction", "0.3"]) == 0
    capsys.readouterr()
    statement = "Lemma t : double 3 = 6."
    argv = ["prove", "--project", str(project), "--header", "From Two Require Import A.", statement, "--json",
            "--budget-s", "20"]
    assert main([*argv, "--memory", str(trace), "--prover-option", "memory_share=0.7"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "proved" and out["prover"]["prover"] == "memory-search"
    assert "tactic-memory:0.70" in out["prover"]["generator"]
    assert main([*argv, "--prover-option", "memory_share"]) == 2
    assert "--prover-option 'memory_share': expected KEY=VALUE" in capsys.readouterr().err
    assert main([*argv, "--prover-option", "bogus=1"]) == 2
    assert "--prover-option: prover 'model-free-search' takes no option bogus" in capsys.readouterr().err


@pytest.mark.coq
def test_prove_hammer_runs_the_hammer_before_a_search(capsys):
    from proofsmith.checker.coq.hammer import missing_reason

    if missing_reason() is not None:
        pytest.skip(f"CoqHammer: {missing_reason()}")
    statement = "Theorem t (l : list nat) : length (l ++ l) = length l + length l."
    assert main(["prove", "--hammer", "--json", "--budget-s", "30", statement]) in (0, 1)
    out = json.loads(capsys.readouterr().out)
    first = out["prover"]["steps"][0]
    assert first["prover"] == "portfolio" and first["hammer"] is True
    assert out["extra"]["portfolio"]["hammer_runs"] == 1  # the hammer itself ran (its ATPs), not only sauto
    assert main(["prove", "--hammer", "--prover", "sample", statement]) == 2
    assert "--hammer: prover 'sample' takes no option hammer" in capsys.readouterr().err
