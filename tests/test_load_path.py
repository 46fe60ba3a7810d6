"""Coq load paths: -Q/-R/--project on the commands, _CoqProject read as coq_makefile reads it, and
the load path recorded by `trace` (metadata.json) and `synth mutate` (each mutant) so that later
commands need nothing more. Against real Coq, with the fixture library tests/fixtures/tracelib."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from proofsmith.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
TRACELIB = FIXTURES / "tracelib"


@pytest.fixture(autouse=True)
def _no_load_path_from_the_environment(monkeypatch):
    monkeypatch.delenv("PROOFSMITH_COQ_ARGS", raising=False)


# ---------------------------------------------------------------- the model


@pytest.mark.skipif(shutil.which("coq_makefile") is None, reason="coq_makefile is not installed")
def test_a_project_file_means_what_it_means_to_coq_makefile(tmp_path):
    from proofsmith.formats.coq_load_path import LoadPath

    (tmp_path / "theories").mkdir()
    (tmp_path / "theories" / "A.v").write_text("Lemma a : True. Proof. exact I. Qed.\n")
    (tmp_path / "plugin").mkdir()
    (tmp_path / "_CoqProject").write_text(
        "# comments run to the end of the line\n"
        "-R theories My.Lib   # here too\n"
        '-Q "plugin" Plug\n'
        "-I plugin\n"
        '-arg "-w -notation-overridden"\n'
        "-arg '-set' -arg \"'Default Goal Selector=!'\"\n"
        'COQDOCFLAGS = "-utf8"\n'
        "theories/A.v\n"
    )
    done = subprocess.run(["coq_makefile", "-f", "_CoqProject", "-o", "Makefile"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "Makefile.conf").read_text().splitlines()
    conf = dict(line.split(" = ", 1) for line in lines if line.startswith("COQMF_") and " = " in line)
    expected = shlex.split(conf["COQMF_COQLIBS"]) + shlex.split(conf["COQMF_OTHERFLAGS"])
    # coq_makefile leaves folders relative to the project; a recorded load path keeps them absolute
    expected = [str((tmp_path / a).resolve()) if a in ("plugin", "theories") else a for a in expected]
    assert LoadPath.from_project(tmp_path).coq_args() == expected
    assert LoadPath.from_project(tmp_path / "_CoqProject") == LoadPath.from_project(tmp_path)


def test_bad_project_files_and_recorded_load_paths_are_named(tmp_path):
    from proofsmith.formats.coq_load_path import LoadPath, LoadPathError, find_project

    project = tmp_path / "_CoqProject"
    for text, message in (("-f other\n", "-f is not allowed"), ("-R lib\n", "-R needs DIR NAME"),
                          ("-frobnicate\n", "unknown option -frobnicate"), ('-arg "-w\n', "unterminated string"),
                          ("-R lib 9Lib\n", "not a Coq logical name")):
        project.write_text(text)
        with pytest.raises(LoadPathError, match=message) as caught:
            LoadPath.from_project(tmp_path)
        assert str(project) in str(caught.value)
    (tmp_path / "sub").mkdir()
    assert find_project(tmp_path / "sub") == project
    with pytest.raises(LoadPathError, match="absolute"):
        LoadPath.from_json(["-R", "relative/dir", "Lib"])
    with pytest.raises(LoadPathError, match="list of Coq flags"):
        LoadPath.from_json("-R /x Lib")
    recorded = LoadPath.from_json(["-Q", "/x", "X", "-w", "-deprecated"])
    assert LoadPath.from_json(recorded.to_json()) == recorded
    assert recorded.merged(recorded, LoadPath.of("-R", "/y", "Y")).coq_args() == [
        "-Q", "/x", "X", "-R", "/y", "Y", "-w", "-deprecated"
    ]


# ---------------------------------------------------------------- the commands, against Coq


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    from proofsmith.data_synth.trace.libraries import from_folder
    from proofsmith.data_synth.trace.runner import trace

    out = tmp_path_factory.mktemp("trace")
    trace([from_folder(TRACELIB, "TraceLib")], out, workers=2, progress=False)
    return out


@pytest.mark.coq
def test_trace_records_its_load_path_in_the_metadata(traced):
    metadata = json.loads((traced / "metadata.json").read_text())
    assert metadata["load_path"] == ["-R", str((traced / "build" / "TraceLib").resolve()), "TraceLib"]


@pytest.mark.coq
def test_check_and_prove_take_Q_R_and_a_project(traced, tmp_path, monkeypatch, capsys):
    build = str(traced / "build" / "TraceLib")
    proofs = tmp_path / "proofs.jsonl"
    proofs.write_text(json.dumps({
        "name": "t", "header": "From TraceLib Require Import Base.", "statement": "Lemma t : double 2 = 4.",
        "proof": "rewrite double_S. reflexivity.",
    }) + "\n")
    runs = iter(range(100))

    def check(*options: str) -> dict:
        out = tmp_path / f"out{next(runs)}.jsonl"  # a fresh output each time: the same one would resume
        assert main(["check", str(proofs), "--workers", "1", "--out", str(out), *options]) == 0
        return json.loads(out.read_text())

    monkeypatch.chdir(tmp_path)  # no _CoqProject here or above
    assert "Cannot find a physical path" in check()["reason"]
    assert check("-R", build, "TraceLib")["verdict"] == "proved"
    assert check("-Q", build, "TraceLib")["verdict"] == "proved"
    project = tmp_path / "proj"
    (project / "deeper").mkdir(parents=True)
    (project / "_CoqProject").write_text(f"-R {build} TraceLib\n")
    assert check("--project", str(project))["verdict"] == "proved"
    monkeypatch.chdir(project / "deeper")  # found in a folder above, and said so
    assert check()["verdict"] == "proved"
    assert f"load path from {project / '_CoqProject'}" in capsys.readouterr().err
    assert check("--no-project")["verdict"] == "error"

    monkeypatch.chdir(tmp_path)
    statement = "Lemma t : double 0 = 0."
    header = "From TraceLib Require Import Base."
    assert main(["prove", statement, "--header", header, "--budget-s", "20", "--json", "-R", build, "TraceLib"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "proved"
    assert main(["prove", statement, "--header", header, "--budget-s", "20", "--project", str(project)]) == 0
    assert main(["check", str(proofs), "-R", str(tmp_path / "nowhere"), "TraceLib"]) == 2
    assert "nowhere TraceLib: no such folder" in capsys.readouterr().err


def _dependency(root: Path) -> Path:
    """A compiled library `Dep` that the traced library requires but is not traced itself."""
    dep = root / "dep"
    dep.mkdir()
    (dep / "Dep.v").write_text("Definition dep_val := 1.\nLemma dep_val_eq : dep_val = 1.\nProof. reflexivity. Qed.\n")
    done = subprocess.run(["coqc", "-q", "-Q", ".", "Dep", "Dep.v"], cwd=dep, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    user = root / "user"
    user.mkdir()
    (user / "U.v").write_text(
        "From Dep Require Import Dep.\n"
        "From Coq Require Import PeanoNat.\n"
        "Lemma u_eq : forall n, n + dep_val = S n.\n"
        "Proof. intros n. rewrite dep_val_eq. rewrite <- plus_n_Sm. rewrite <- plus_n_O. reflexivity. Qed.\n"
        "Lemma u_use : forall n, (n + dep_val) * 1 = S n.\n"
        "Proof. intros n. rewrite Nat.mul_1_r. apply u_eq. Qed.\n"
    )
    return dep


@pytest.mark.coq
def test_what_trace_was_told_is_all_mutate_check_and_eval_need(tmp_path, monkeypatch, capsys):
    dep = _dependency(tmp_path)
    out = tmp_path / "trace"
    code = main(["trace", "--library", str(tmp_path / "user"), "--logical-path", "User", "-Q", str(dep), "Dep",
                 "--out", str(out), "--workers", "1"])
    assert code == 0
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["load_path"] == ["-Q", str(dep), "Dep", "-R", str(out / "build" / "User"), "User"]
    assert json.loads((out / "stats.json").read_text())["files_by_status"] == {"ok": 1}

    monkeypatch.chdir(tmp_path)  # nothing but the trace's own record from here on
    mutants = tmp_path / "mutants.jsonl"
    assert main(["synth", "mutate", "--trace", str(out), "--workers", "1", "--out", str(mutants)]) == 0
    sources = [json.loads(line) for line in mutants.with_name("mutants.jsonl.source.jsonl").read_text().splitlines()]
    assert sorted(s["name"] for s in sources if "key" in s) == ["User.U.u_eq", "User.U.u_use"]  # both open in Coq
    records = [json.loads(line) for line in mutants.read_text().splitlines()]
    assert records and all(r["load_path"] == metadata["load_path"] for r in records)

    checked = tmp_path / "checked.jsonl"
    assert main(["check", str(mutants), "--workers", "1", "--out", str(checked)]) == 0
    verdicts = [json.loads(line) for line in checked.read_text().splitlines()]
    assert [v["verdict"] for v in verdicts] == ["proved"] * len(records), verdicts

    capsys.readouterr()
    assert main(["eval", "--benchmark", "coq-mutants", "--data", str(mutants), "--split", "train",
                 "--prover", "portfolio", "--workers", "1", "--budget-s", "20", "--no-progress",
                 "--out", str(tmp_path / "run")]) == 0
    results = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert results and all(r["usable"] for r in results), [r["reason"] for r in results]
