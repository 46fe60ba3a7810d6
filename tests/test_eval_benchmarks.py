"""Benchmark loaders: the bundled data, and exact error messages for bad records."""

import json
import shutil
from pathlib import Path

import pytest

from proofsmith.eval.benchmarks import (
    BENCHMARKS,
    BenchmarkDataError,
    BenchmarkSelectionError,
    load_benchmark,
)
from proofsmith.eval.benchmarks.problem import competition_family

FIXTURES = Path(__file__).parent / "fixtures"
LEANDOJO = FIXTURES / "leandojo_benchmark_4"
DATA = Path(__file__).resolve().parent.parent / "eval" / "data"


@pytest.mark.parametrize(
    "name,split,count",
    [("minif2f-coq", "valid", 244), ("minif2f-coq", "test", 244), ("putnam-coq", "putnam", 412),
     ("minif2f-lean4", "valid", 244), ("minif2f-lean4", "test", 244)],
)
def test_bundled_benchmarks_load_with_their_provenance(name, split, count):
    bench = load_benchmark(name, split)
    assert len(bench.problems) == count
    assert len({p.name for p in bench.problems}) == count
    assert all(p.split == split for p in bench.problems)
    assert bench.source_commit and bench.source_repo
    assert bench.backend == BENCHMARKS[name].backend


def test_minif2f_coq_keeps_headers_byte_exact_and_notes_known_failures():
    bench = load_benchmark("minif2f-coq", "test")
    first = json.loads((DATA / "minif2f_coq.jsonl").read_text().splitlines()[0])
    problem = next(p for p in bench.problems if p.name == first["name"])
    assert problem.theorem.header == first["header"]
    assert problem.theorem.statement == first["statement"]
    assert problem.theorem.source.repo == "LLM4Rocq/miniF2F-rocq"
    assert problem.theorem.source.commit == "b60affae5d9b81eb097424e3143c40165ccbe97b"
    assert problem.theorem.source.path == f"test/{first['name']}.v"
    # the dataset says 5 test statements did not compile on Coq 8.16; the notes keep that
    assert sum(p.dataset_note is not None for p in bench.problems) == 5
    assert {p.category for p in bench.problems} == {"mathd", "amc", "aime", "imo", "algebra", "numbertheory", "induction"}


def test_bundled_data_has_licences_and_provenance():
    for stem in ("minif2f_coq", "putnam_coq", "minif2f_lean4"):
        assert "MIT License" in (DATA / "licenses" / f"{stem}.LICENSE").read_text()
    provenance = (DATA / "PROVENANCE.md").read_text()
    assert "b60affae5d9b81eb097424e3143c40165ccbe97b" in provenance
    assert "3c9b9268ebd132d482938b8e9d242dd71fc1ebc0" in provenance


def test_lean_statements_drop_the_sorry_tail():
    bench = load_benchmark("minif2f-lean4", "test")
    p = bench.problems[0]
    assert p.theorem.statement.startswith("theorem ") and "sorry" not in p.theorem.statement
    assert p.theorem.backend == "lean" and p.extra["mathlib"] == "v4.24.0"


@pytest.mark.parametrize(
    "name,family",
    [("amc12a_2019_p21", "amc"), ("aimeII_2020_p6", "aime"), ("imosl_2007_algebra_p6", "imo"),
     ("mathd_algebra_48", "mathd"), ("putnam_1962_a2", "putnam"), ("foo", "other")],
)
def test_competition_family(name, family):
    assert competition_family(name) == family


def _coq_record(**overrides):
    record = {
        "name": "t1", "split": "test", "header": "Require Import Arith.\n",
        "statement": "Theorem t1 : 1 + 1 = 2.", "compiles_coq816": True, "error": None,
        "debian_packages": ["libcoq-stdlib"], "source": "me/repo@0123456789abcdef test/t1.v",
    }
    record.update(overrides)
    return record


def _write_jsonl(path: Path, records) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_user_data_replaces_the_bundled_copy(tmp_path):
    path = _write_jsonl(tmp_path / "mine.jsonl", [_coq_record(), _coq_record(name="t2", split="valid")])
    bench = load_benchmark("minif2f-coq", "test", path)
    assert [p.name for p in bench.problems] == ["t1"]
    assert bench.source_repo == "me/repo" and bench.data_path == str(path)


@pytest.mark.parametrize(
    "line2,expected",
    [
        ("{not json", r"mine.jsonl:2:2: not valid JSON: Expecting property name"),
        ("[1, 2]", r"mine.jsonl:2: expected a JSON object, got list"),
        (_coq_record(name="t2", statement=None), r"mine.jsonl:2: field 'statement': expected a string, got null"),
        ({k: v for k, v in _coq_record(name="t2").items() if k != "header"}, r"mine.jsonl:2: field 'header': missing"),
        (_coq_record(name="t2", split="dev"), r"mine.jsonl:2: field 'split': 'dev' is not a split of minif2f-coq"),
        (_coq_record(), r"mine.jsonl:2: field 'name': duplicate name 't1' in split test \(first on line 1\)"),
        (_coq_record(name="t2", source="somewhere"), r"mine.jsonl:2: field 'source': expected 'owner/repo@commit path'"),
        (_coq_record(name="t2", debian_packages=["a", 3]), r"mine.jsonl:2: field 'debian_packages': item 1 is int"),
        (_coq_record(name="t2", statement="Definition x := 1."), r"mine.jsonl:2: field 'statement': expected 'Theorem NAME"),
        (_coq_record(name="t2", compiles_coq816="yes"), r"mine.jsonl:2: field 'compiles_coq816': expected true or false"),
    ],
)
def test_bad_coq_records_name_file_line_and_field(tmp_path, line2, expected):
    path = _write_jsonl(tmp_path / "mine.jsonl", [_coq_record(), line2])
    with pytest.raises(BenchmarkDataError, match=expected):
        load_benchmark("minif2f-coq", "test", path)


def test_bad_lean_record(tmp_path):
    good = json.loads((DATA / "minif2f_lean4.jsonl").read_text().splitlines()[0])
    bad = dict(good, formal_statement=good["formal_statement"].replace(":= by sorry", ":= by simp"))
    path = _write_jsonl(tmp_path / "lean.jsonl", [good, bad])
    with pytest.raises(BenchmarkDataError, match=r"lean.jsonl:2: field 'formal_statement': expected the statement to end in ':= by sorry'"):
        load_benchmark("minif2f-lean4", "test", path)


def test_selection_errors_say_what_to_choose():
    with pytest.raises(BenchmarkSelectionError, match="unknown benchmark 'minif2f'; choose one of minif2f-coq"):
        load_benchmark("minif2f")
    with pytest.raises(BenchmarkSelectionError, match="minif2f-coq has no split 'train'; choose one of valid, test"):
        load_benchmark("minif2f-coq", "train")
    with pytest.raises(BenchmarkSelectionError, match="leandojo is not bundled: give --data PATH, a LeanDojo Benchmark 4 directory"):
        load_benchmark("leandojo", "random/test")
    with pytest.raises(BenchmarkSelectionError, match="--data /no/such/place: no such file or directory"):
        load_benchmark("minif2f-coq", "test", "/no/such/place")


def test_a_split_with_no_problems_is_an_error_not_an_empty_run(tmp_path):
    path = _write_jsonl(tmp_path / "only_test.jsonl", [_coq_record()])
    with pytest.raises(BenchmarkDataError, match=r"only_test.jsonl: no problems in split 'valid' \(splits in this file: test\)"):
        load_benchmark("minif2f-coq", "valid", path)


def test_leandojo_fixture_loads_every_split():
    sizes = {}
    for strategy in ("random", "novel_premises"):
        for part in ("train", "val", "test"):
            bench = load_benchmark("leandojo", f"{strategy}/{part}", LEANDOJO)
            sizes[f"{strategy}/{part}"] = len(bench.problems)
            assert bench.source_repo == "https://github.com/example/tiny-lean-lib"
            assert bench.backend == "lean"
    assert sizes == {"random/train": 4, "random/val": 1, "random/test": 1,
                     "novel_premises/train": 3, "novel_premises/val": 1, "novel_premises/test": 2}
    problem = load_benchmark("leandojo", "novel_premises/test", LEANDOJO).problems[0]
    assert problem.name == "TinyLib.Nat.add_comm'"
    assert problem.theorem.source.path == "TinyLib/Nat/Comm.lean"
    assert problem.category == "Nat"
    assert problem.extra["start"] == (5, 1) and problem.extra["initial_goal"] == "n m : Nat\n⊢ n + m = m + n"


def test_leandojo_fixture_corpus_follows_the_schema_retrieval_reads():
    from proofsmith.retrieval.corpus import Corpus

    corpus = Corpus.load(LEANDOJO / "corpus.jsonl")
    assert len(corpus.premises) == 6


def _copy_leandojo(tmp_path: Path) -> Path:
    root = tmp_path / "lb4"
    shutil.copytree(LEANDOJO, root)
    return root


def test_leandojo_errors_name_file_and_field(tmp_path):
    root = _copy_leandojo(tmp_path)
    with pytest.raises(BenchmarkSelectionError, match="leandojo has no split 'random/dev'; choose one of random/train"):
        load_benchmark("leandojo", "random/dev", root)

    theorems = json.loads((root / "random/test.json").read_text())
    theorems[0]["start"] = [5]
    (root / "random/test.json").write_text(json.dumps(theorems))
    with pytest.raises(BenchmarkDataError, match=r"random/test.json: field '\[0\].start': expected \[line, column\], got \[5\]"):
        load_benchmark("leandojo", "random/test", root)

    theorems[0]["start"] = [5, 1]
    del theorems[0]["traced_tactics"][0]["state_before"]
    (root / "random/test.json").write_text(json.dumps(theorems))
    with pytest.raises(BenchmarkDataError, match=r"field '\[0\].traced_tactics\[0\].state_before': missing or not a string"):
        load_benchmark("leandojo", "random/test", root)

    del theorems[0]["full_name"]
    (root / "random/test.json").write_text(json.dumps(theorems))
    with pytest.raises(BenchmarkDataError, match=r"field '\[0\].full_name': missing"):
        load_benchmark("leandojo", "random/test", root)

    (root / "metadata.json").write_text(json.dumps({"from_repo": {"url": "x"}}))
    with pytest.raises(BenchmarkDataError, match=r"metadata.json: field 'from_repo.commit': missing"):
        load_benchmark("leandojo", "random/test", root)

    (root / "metadata.json").unlink()
    with pytest.raises(BenchmarkDataError, match=r"metadata.json: no such file"):
        load_benchmark("leandojo", "random/test", root)


def test_leandojo_requires_the_corpus(tmp_path):
    root = _copy_leandojo(tmp_path)
    (root / "corpus.jsonl").unlink()
    with pytest.raises(BenchmarkDataError, match=r"corpus.jsonl: no such file"):
        load_benchmark("leandojo", "random/test", root)


def test_leandojo_json_that_is_broken_or_not_utf8_is_named_by_line_and_column(tmp_path):
    root = _copy_leandojo(tmp_path)
    split = root / "random/test.json"
    split.write_bytes(b'[\n  {"full_name": "ok"},\n  {"full_name": "caf\xe9"}\n]\n')
    with pytest.raises(BenchmarkDataError, match=r"random/test.json:3:21: not UTF-8 text \(byte 0xe9\)"):
        load_benchmark("leandojo", "random/test", root)
    split.write_text('[\n  {"full_name": "ok"},,\n]\n')
    with pytest.raises(BenchmarkDataError, match=r"random/test.json:2:23: not valid JSON: Expecting value"):
        load_benchmark("leandojo", "random/test", root)
