"""Projects as users have them (checker.coq.project_build and the commands over it), against real Coq:
an unbuilt project is built into the cache folder, never into the user's tree."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from proofsmith.checker.coq import project_build
from proofsmith.cli import main

pytestmark = pytest.mark.coq

A_V = """Definition double (n : nat) := n + n.

Lemma double_0 : double 0 = 0.
Proof. unfold double. simpl. reflexivity. Qed.

Lemma double_S n : double (S n) = S (S (double n)).
Proof. unfold double. simpl. rewrite <- plus_n_Sm. reflexivity. Qed.
"""
B_V = """From Two Require Import A.

Lemma double_1 : double 1 = 2.
Proof. unfold double. simpl. reflexivity. Qed.

Lemma double_2 : double 2 = 4.
Proof.
  unfold double.
  simpl.
  reflexivity.
Qed.
"""


def two_file_project(root: Path) -> Path:
    (root / "theories").mkdir(parents=True)
    (root / "_CoqProject").write_text("-Q theories Two\ntheories/A.v\ntheories/B.v\n")
    (root / "theories" / "A.v").write_text(A_V)
    (root / "theories" / "B.v").write_text(B_V)
    return root


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PROOFSMITH_CACHE_DIR", str(tmp_path / "cache"))
    return two_file_project(tmp_path / "P")


def _write_proofs(path: Path) -> Path:
    lines = [
        {"name": "double_1", "file": "theories/B.v", "proof": "unfold double. simpl. reflexivity."},
        {"name": "double_S", "file": "theories/A.v", "proof": "intros. unfold double. simpl. rewrite <- plus_n_Sm. reflexivity."},
        {"name": "double_2", "file": "theories/B.v", "proof": "admit."},
        {"name": "h", "header": "From Two Require Import A B.", "statement": "Lemma h : double 2 = 4.",
         "proof": "exact double_2."},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _verdicts(out: str) -> list[str]:
    return [json.loads(line)["verdict"] for line in out.splitlines() if line.startswith("{")]


def test_check_builds_an_unbuilt_project_into_the_cache_and_proves_the_honest_lines(project, tmp_path, capsys):
    proofs = _write_proofs(tmp_path / "proofs.jsonl")
    assert main(["check", "--project", str(project), str(proofs)]) == 0
    captured = capsys.readouterr()
    assert _verdicts(captured.out) == ["proved", "proved", "failed", "proved"]
    assert f"built 2 file(s) of {project}" in captured.err  # A.v for B.v's lines, B.v for the header
    assert not list(project.rglob("*.vo")), "the user's tree is never written to"
    # a second run finds the build and compiles nothing
    assert main(["check", "--project", str(project), str(proofs)]) == 0
    captured = capsys.readouterr()
    assert _verdicts(captured.out) == ["proved", "proved", "failed", "proved"]
    assert "built" not in captured.err


def test_the_build_follows_the_sources(project):
    first = project_build.prepare_project(project, files=["theories/B.v"])
    assert first.built and first.compiled == ("theories/A.v",)
    assert project_build.prepare_project(project, files=["theories/B.v"]).compiled == ()
    time.sleep(0.01)
    (project / "theories" / "A.v").write_text(A_V + "\nDefinition triple (n : nat) := n + n + n.\n")
    again = project_build.prepare_project(project, files=["theories/B.v"])
    assert again.compiled == ("theories/A.v",)
    assert "triple" in (again.folder / "theories" / "A.v").read_text()


def test_a_built_project_is_used_as_it_is(project):
    import subprocess

    subprocess.run(["coqc", "-Q", "theories", "Two", "theories/A.v"], cwd=project, check=True)
    prepared = project_build.prepare_project(project, files=["theories/B.v"])
    assert not prepared.built and prepared.folder == project.resolve()


def test_no_build_names_the_missing_vo_and_the_command_that_makes_it(project, tmp_path, capsys):
    proofs = _write_proofs(tmp_path / "proofs.jsonl")
    assert main(["check", "--no-build", "--project", str(project), str(proofs)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{project}/theories/A.vo is missing" in err and "needed by theories/B.v" in err
    assert f"cd {project} && coq_makefile -f _CoqProject -o CoqMakefile && make -f CoqMakefile theories/A.vo" in err


def test_a_dependency_that_does_not_compile_is_named_with_coqs_error(project, tmp_path, capsys):
    (project / "theories" / "A.v").write_text(A_V + "\nLemma wrong : 1 = 2.\nProof. reflexivity. Qed.\n")
    proofs = tmp_path / "proofs.jsonl"
    proofs.write_text(json.dumps({"name": "double_1", "file": "theories/B.v", "proof": "reflexivity."}) + "\n")
    assert main(["check", "--project", str(project), str(proofs)]) == 0
    captured = capsys.readouterr()
    assert _verdicts(captured.out) == ["error"]
    assert f"{project}/theories/A.v does not compile: " in captured.err
    assert 'line 10' in captured.err and 'Unable to unify "2" with "1"' in captured.err


def test_suggest_in_an_unbuilt_project_found_from_the_file(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    assert main(["suggest", "--file", "theories/B.v", "--line", "9", "--json", "--no-model"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["proof_so_far"] == ["unfold double.", "simpl."]
    assert any(s["finishes_proof"] for s in record["suggestions"])


def test_trace_reads_the_librarys_own_coqproject(project, tmp_path, capsys):
    out = tmp_path / "trace"
    assert main(["trace", "--library", str(project), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"{project}/theories as Two" in err
    corpus = [json.loads(line) for line in (out / "corpus.jsonl").read_text().splitlines()]
    names = {p["full_name"] for f in corpus for p in f.get("premises", [])}
    assert "Two.A.double_S" in names and "Two.B.double_2" in names


def test_trace_names_a_file_that_fails_and_exits_1(project, tmp_path, capsys):
    (project / "theories" / "A.v").write_text("Lemma wrong : 1 = 2.\nProof. reflexivity. Qed.\n")
    out = tmp_path / "trace"
    assert main(["trace", "--library", str(project), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    summary = json.loads(err[err.index("{"): err.index("\n}") + 2])
    assert summary["why_files_failed"]["theories/A.v"].startswith("line 2: ")
    assert 'Unable to unify "2" with "1"' in summary["why_files_failed"]["theories/A.v"]
    assert "file(s) failed" in err


def test_eval_builds_the_project_its_headers_require(project, tmp_path, capsys):
    problem = {"name": "uses_a", "split": "test", "header": "From Two Require Import A.",
               "statement": "Theorem uses_a : double 0 = 0.", "compiles_coq816": True, "error": None,
               "debian_packages": [], "source": "local/two@0000000 problems.v"}
    data = tmp_path / "problems.jsonl"
    data.write_text(json.dumps(problem) + "\n")
    out = tmp_path / "run"
    assert main(["eval", "--benchmark", "minif2f-coq", "--split", "test", "--data", str(data), "--project",
                 str(project), "--prover", "portfolio", "--budget-s", "10", "--workers", "1", "--no-progress",
                 "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "proved 1/1 usable" in captured.out
    assert f"built 2 file(s) of {project}" in captured.err and not list(project.rglob("*.vo"))
