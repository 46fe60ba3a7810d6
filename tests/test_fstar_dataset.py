"""The fstar-dataset benchmark (FStarDataSet's schema) and `--backend fstar` at the command line.

tests/fixtures/fstar_dataset is a constructed, dataset-shaped fixture (its
README says how); the checks of its problems run on tests/fstar_replay.py.
"""

import json
import sys

import pytest

from proofsmith.checker.fstar.guard import check_candidate
from proofsmith.checker.fstar.session import FStarSession
from proofsmith.checker.fstar.target import target_of
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import Verdict
from proofsmith.cli import main
from proofsmith.eval.benchmarks import BenchmarkDataError, BenchmarkSelectionError, get_spec, load_benchmark
from proofsmith.eval.benchmarks.fstar_dataset import scaffolding, solver_options

from .fstar_replay import FIXTURES as IDE_FIXTURES

DATA = IDE_FIXTURES.parent / "fstar_dataset"
REPLAY = str(IDE_FIXTURES.parent.parent / "fstar_replay.py")
TEST_RECORDS = json.loads((DATA / "test_intra_project.json").read_text())


def test_splits_and_what_the_harness_leaves_out():
    spec = get_spec("fstar-dataset")
    assert spec.backend == "fstar" and spec.default_split == "test_intra_project" and spec.bundled is None
    bench = load_benchmark("fstar-dataset", data=DATA)
    # interleaved `val`, `type` without `=`, and the mutually recursive pair are left out
    assert [p.name for p in bench.problems] == ["Harness.bar", "Harness.aux", "Harness.foo", "Harness.always_foo"]
    assert bench.backend == "fstar" and bench.data_path.endswith("test_intra_project.json")
    always = bench.problems[3]
    assert always.theorem.statement == "val always_foo a : Lemma (foo a) [SMTPat (foo a)]"
    assert always.theorem.source.path == "tests/ide/emacs/Harness.fst" and always.category == "FStar"
    assert always.extra["reference"].startswith("let always_foo x")
    assert always.extra["ideal_premises"] == ["Harness.aux", "Harness.foo"]
    assert bench.problems[0].theorem.statement == ""  # "<UNK>": no val
    target = target_of(always.theorem)
    assert target.checked and target.file == "Harness.fst" and target.name == "Harness.always_foo"


def test_header_is_the_harness_scaffolding():
    header = load_benchmark("fstar-dataset", data=DATA).problems[0].theorem.header
    lines = header.splitlines()
    assert lines[:5] == ["open Prims", "open FStar.Pervasives", "open FStar.Mul", "open FStar.Classical", "open Harness"]
    assert lines[5].startswith('#push-options "--initial_fuel 2 --max_fuel 8 --initial_ifuel 1 --max_ifuel 2')
    assert "--z3rlimit 5" in lines[5] and "quake" not in lines[5] and "retry" not in lines[5]
    valid = load_benchmark("fstar-dataset", "valid", DATA).problems[0]
    assert valid.theorem.header == 'open FStar.Mul\nmodule C=FStar.Classical\nopen Harness\n#push-options ""\n'
    assert scaffolding("prims.fst", [("X", None)], None) == '#push-options ""\n'
    assert solver_options({"z3cliopt": ["smt.arith=1"], "z3refresh": True, "z3rlimit": 20}) == \
        "--z3cliopt 'smt.arith=1' --z3refresh --z3rlimit 20"


def test_every_reference_definition_passes_the_guard():
    for split in ("test_intra_project", "valid"):
        for problem in load_benchmark("fstar-dataset", split, DATA).problems:
            target = target_of(problem.theorem)
            assert check_candidate(target, problem.extra["reference"]).code == problem.extra["reference"]


def write(path, records, lines=False):
    text = "".join(json.dumps(r) + "\n" for r in records) if lines else json.dumps(records)
    path.write_text(text)
    return path


def test_one_test_file_is_split_by_the_cross_project_flag(tmp_path):
    cross = {**TEST_RECORDS[2], "isa_cross_project_example": True}
    write(tmp_path / "test.json", [TEST_RECORDS[0], cross])
    assert [p.name for p in load_benchmark("fstar-dataset", "test_cross_project", tmp_path).problems] == ["Harness.foo"]
    assert [p.name for p in load_benchmark("fstar-dataset", "test_intra_project", tmp_path).problems] == ["Harness.bar"]
    single = write(tmp_path / "mine.jsonl", [TEST_RECORDS[0]], lines=True)
    assert load_benchmark("fstar-dataset", "train", single).problems[0].split == "train"


@pytest.mark.parametrize(
    "change,where,message",
    [
        ({"name": None}, "[0].name", "expected a string, got null"),
        ({"file_name": "Harness.ml"}, "[0].file_name", "expected an .fst or .fsti file"),
        ({"opens_and_abbrevs": [{"module": "X"}]}, "[0].opens_and_abbrevs[0]", 'expected {"open": M}'),
        ({"opens_and_abbrevs": [{"abbrev": True, "full_module": "X"}]}, "[0].opens_and_abbrevs[0]", "short name"),
        ({"vconfig": []}, "[0].vconfig", "expected an object"),
        ({"ideal_premises": [1]}, "[0].ideal_premises", "item 0 is int"),
        ({"source": {"git_rev": 7}}, "[0].source.git_rev", "expected a string"),
        ({"interleaved": "no"}, "[0].interleaved", "expected true or false"),
    ],
)
def test_malformed_records_are_named(tmp_path, change, where, message):
    write(tmp_path / "test_intra_project.json", [{**TEST_RECORDS[0], **change}])
    with pytest.raises(BenchmarkDataError) as bad:
        load_benchmark("fstar-dataset", data=tmp_path)
    assert f"field {where!r}" in str(bad.value) and message in str(bad.value)


def test_malformed_json_lines_name_the_line_and_other_errors(tmp_path):
    write(tmp_path / "valid.jsonl", [TEST_RECORDS[0], {**TEST_RECORDS[2], "source_definition": 3}], lines=True)
    with pytest.raises(BenchmarkDataError, match=r"valid.jsonl:2: field 'source_definition'"):
        load_benchmark("fstar-dataset", "valid", tmp_path)
    write(tmp_path / "train.json", [TEST_RECORDS[0], TEST_RECORDS[0]])
    with pytest.raises(BenchmarkDataError, match="duplicate name 'Harness.bar'"):
        load_benchmark("fstar-dataset", "train", tmp_path)
    write(tmp_path / "test_cross_project.json", [TEST_RECORDS[3]])
    with pytest.raises(BenchmarkDataError, match="no checkable definitions"):
        load_benchmark("fstar-dataset", "test_cross_project", tmp_path)
    with pytest.raises(BenchmarkDataError, match="no file for split 'test_intra_project'"):
        load_benchmark("fstar-dataset", data=tmp_path)
    with pytest.raises(BenchmarkSelectionError, match="is not bundled"):
        load_benchmark("fstar-dataset")
    with pytest.raises(BenchmarkSelectionError, match="no split 'test'"):
        load_benchmark("fstar-dataset", "test", DATA)


def test_a_dataset_problem_is_checked_in_its_file_as_the_harness_does(tmp_path):
    always = load_benchmark("fstar-dataset", data=DATA).problems[3].theorem
    reference = load_benchmark("fstar-dataset", data=DATA).problems[3].extra["reference"]
    snippet = f"{always.header}\n{always.statement}\n{reference}"
    ok = {"kind": "response", "query-id": "?", "response": [], "status": "success"}
    script = tmp_path / "s.jsonl"
    # constructed requests (the harness's own); the answers are the recorded shapes (Harness.selfref:1, Backtracking:23, :24)
    script.write_text("".join(json.dumps(s) + "\n" for s in [
        {"request": {"query": "push-partial-checked-file", "args": {"until-lid": "Harness.always_foo"}}, "replies": [ok]},
        {"request": {"query": "push", "args": {"kind": "full", "code": snippet, "line": 1, "column": 0}}, "replies": [ok]},
        {"request": {"query": "pop", "args": {}}, "replies": [{**ok, "response": None}]},
    ]))
    settings = CheckerSettings(fstar_binary=sys.executable, fstar_include=[str(DATA)],
                               fstar_args=["-S", REPLAY, "--script", str(script), "--expect-file", "Harness.fst"])
    with FStarSession(settings) as session:
        assert "--include" in session.argv("Harness.fst") and str(DATA) in session.argv("Harness.fst")
        assert session.check(always, reference).verdict is Verdict.PROVED
        assert session.check(always, "let always_foo x = admit ()").verdict is Verdict.FAILED


# ---------------------------------------------------------------- command line


@pytest.fixture
def no_fstar(tmp_path, monkeypatch):
    monkeypatch.setenv("PROOFSMITH_FSTAR_BINARY", str(tmp_path / "no-fstar.exe"))


def test_check_without_fstar_exits_3_with_the_install_hint(tmp_path, capsys, no_fstar):
    proofs = tmp_path / "p.jsonl"
    record = {"name": "Demo.a", "header": "module Demo", "statement": "val a : nat", "proof": "let a = 1"}
    proofs.write_text(json.dumps(record) + "\n")
    assert main(["check", "--backend", "fstar", str(proofs)]) == 3
    err = capsys.readouterr().err
    assert "was not found" in err and "FStarLang/FStar/releases" in err


def test_prove_without_fstar_exits_3_before_loading_a_model(capsys, no_fstar):
    assert main(["prove", "--backend", "fstar", "val a : nat", "--header", "module Demo"]) == 3
    assert "opam install fstar" in capsys.readouterr().err


def test_prove_with_fstar_samples_whole_definitions_only(capsys):
    assert main(["prove", "--backend", "fstar", "val a : nat", "--prover", "search"]) == 2
    assert "use --prover sample" in capsys.readouterr().err
    assert main(["prove", "--backend", "fstar", "let a = 1"]) == 2
    assert "'val NAME : TYPE'" in capsys.readouterr().err


def test_eval_without_fstar_exits_3(tmp_path, capsys, no_fstar):
    code = main(["eval", "--benchmark", "fstar-dataset", "--data", str(DATA), "--prover", "sample",
                 "--workers", "1", "--limit", "1", "--no-progress", "--out", str(tmp_path / "run")])
    assert code == 3 and "FStarLang/FStar/releases" in capsys.readouterr().err


def test_eval_opens_dataset_problems_in_their_file(tmp_path, monkeypatch, capsys):
    """The runner's statement check (session.open: prefix, then a peek of the val) on the stand-in.
    The portfolio prover knows only Coq, so the problem is usable but not proved."""
    always = load_benchmark("fstar-dataset", data=DATA).problems[3].theorem
    ok = {"kind": "response", "query-id": "?", "response": [], "status": "success"}
    script = tmp_path / "s.jsonl"
    script.write_text("".join(json.dumps(s) + "\n" for s in [
        {"request": {"query": "push-partial-checked-file", "args": {"until-lid": "Harness.always_foo"}}, "replies": [ok]},
        {"request": {"query": "peek", "args": {"kind": "lax", "code": f"{always.header}\n{always.statement}", "line": 1,
                                               "column": 0}}, "replies": [ok]},
    ]))
    monkeypatch.setenv("PROOFSMITH_FSTAR_BINARY", sys.executable)
    monkeypatch.setenv("PROOFSMITH_FSTAR_ARGS", json.dumps(["-S", REPLAY, "--script", str(script)]))
    out = tmp_path / "run"
    assert main(["eval", "--benchmark", "fstar-dataset", "--data", str(DATA), "--problems", "Harness.always_foo",
                 "--workers", "1", "--no-progress", "--out", str(out)]) == 0
    (record,) = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert record["usable"] and record["verdict"] == "error" and "Coq tactics only" in record["reason"]
    assert record["checker"]["backend"] == "fstar"
