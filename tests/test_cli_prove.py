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
