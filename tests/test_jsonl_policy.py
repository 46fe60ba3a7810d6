"""One JSON Lines policy for every reader and writer (formats.json_files).

Every reader of a file proofsmith appends to drops a torn last line (a write
cut short by a kill); a reader of what a user hands in refuses it; both refuse
any other bad line with an error naming file:line; every writer cuts a torn
last line off before appending, so a killed run resumes into a valid file;
whole-file rewrites are atomic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from proofsmith.formats.json_files import InputFileError, JsonlAppender, read_jsonl, write_jsonl

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "eval" / "data"
FSTAR_VALID = ROOT / "tests" / "fixtures" / "fstar_dataset" / "valid.jsonl"


def _bundled(file: str, split: str) -> Callable[[int], dict]:
    """The i-th record of one split of a bundled benchmark file."""
    records = [json.loads(line) for line in (DATA / file).read_text().splitlines()]
    chosen = [r for r in records if r["split"] == split]
    return lambda i: chosen[i]


def _mutant(i: int) -> dict[str, Any]:
    from proofsmith.formats.mutant_record import MutantRecord

    return MutantRecord(
        name=f"m{i}", split="train", header="", statement=f"Theorem m{i} : True.", proof="exact I.",
        source="coq/coq@V8.16.1 theories/Init/Logic.v", parent=f"Coq.Init.Logic.p{i}",
        parent_statement="Theorem p : True.", rule="rewrite", use="rewrite ->", premise="Coq.Init.Logic.eq_sym",
        location="goal", proof_style="inverse", discovery_tactic="rewrite eq_sym.", key=f"k{i}",
        file_path="theories/Init/Logic.v", position=(1, 1),
        traced_tactics=({"tactic": "exact I.", "state_before": "True", "state_after": "no goals"},),
        checker={}, load_path=None,
    ).to_json()


def _fstar(i: int) -> dict[str, Any]:
    record = json.loads(FSTAR_VALID.read_text().splitlines()[0])
    return dict(record, name=f"{record['name']}_{i}")


def _results_file(path: Path) -> int:
    from proofsmith.formats.run_records import ResultsFile

    with ResultsFile(path) as results:
        return len(results.open())


def _read_results(path: Path) -> int:
    from proofsmith.formats.run_records import read_results

    return len(read_results(path))


def _axiom_cache(path: Path) -> int:
    from proofsmith.checker.coq.axiom_cache import LibraryAxiomCache

    cache = LibraryAxiomCache(path)
    return sum(cache.get(f"Coq.c{i}") is not None for i in range(3))


def _corpus(path: Path) -> int:
    from proofsmith.retrieval.corpus import Corpus

    return len(Corpus.load(path).files)


def _retrieval_rows(path: Path) -> int:
    from proofsmith.retrieval.evaluation import finished_rows

    return len(finished_rows(path, "h"))


def _training_log(path: Path) -> int:
    from proofsmith.retrieval.training import _truncate_log

    _truncate_log(path, 10**6)
    return sum(1 for _ in read_jsonl(path, missing_ok=True, appended=True))


def _traced_files(path: Path) -> int:
    from proofsmith.data_synth.trace.runner import read_records

    return len(read_records(path))


def _mutant_records(path: Path) -> int:
    from proofsmith.formats.mutant_record import read_records

    return sum(1 for _ in read_records(path))


def _mutants_kept(path: Path) -> int:
    from proofsmith.formats.mutant_record import keep_parents

    keep_parents(path, {f"Coq.Init.Logic.p{i}" for i in range(3)})
    return sum(1 for _ in read_jsonl(path, appended=True))


def _benchmark(name: str, split: str) -> Callable[[Path], int]:
    def read(path: Path) -> int:
        from proofsmith.eval.benchmarks import load_benchmark

        return len(load_benchmark(name, split, path).problems)

    return read


def _check_tasks(path: Path) -> int:
    from proofsmith.cli.check import read_tasks

    return len(read_tasks(path, "coq"))


# reader name -> (read the file and count its records, the i-th valid record)
READERS: dict[str, tuple[Callable[[Path], int], Callable[[int], dict]]] = {
    "read_jsonl": (lambda p: sum(1 for _ in read_jsonl(p)), lambda i: {"n": i}),
    "eval results (resume)": (_results_file, lambda i: {"name": f"t{i}", "verdict": "proved"}),
    "eval results (read)": (_read_results, lambda i: {"name": f"t{i}", "verdict": "proved"}),
    "coq axiom cache": (_axiom_cache, lambda i: {"constant": f"Coq.c{i}", "axioms": []}),
    "premise corpus": (_corpus, lambda i: {"path": f"F{i}.v", "imports": [], "premises": [
        {"full_name": f"c{i}", "code": f"c{i} : nat", "start": [1, 1], "end": [1, 9], "kind": "Definition"}]}),
    "retrieval evaluation rows": (_retrieval_rows, lambda i: {
        "retriever": f"r{i}", "split": "random", "subset": "test", "corpus_hash": "h"}),
    "retriever training log": (_training_log, lambda i: {"step": i + 1, "loss": 0.5, "lr": 1e-4, "time": 0.0}),
    "traced files": (_traced_files, lambda i: {"path": f"F{i}.v", "theorems": []}),
    "mutant corpus": (_mutant_records, _mutant),
    "mutant corpus resume": (_mutants_kept, _mutant),
    "eval coq-mutants": (_benchmark("coq-mutants", "train"), _mutant),
    "eval minif2f-coq": (_benchmark("minif2f-coq", "test"), _bundled("minif2f_coq.jsonl", "test")),
    "eval minif2f-lean4": (_benchmark("minif2f-lean4", "test"), _bundled("minif2f_lean4.jsonl", "test")),
    "eval fstar-dataset": (_benchmark("fstar-dataset", "valid"), _fstar),
    "check proofs": (_check_tasks, lambda i: {"name": f"t{i}", "header": "", "statement": f"Theorem t{i} : True.",
                                              "proof": "exact I."}),
}


def _line(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode() + b"\n"


# What a user hands in: an unfinished last line there is not a killed write of ours.
USER_INPUTS = {"read_jsonl", "premise corpus", "eval minif2f-coq", "eval minif2f-lean4", "eval fstar-dataset",
               "check proofs"}


def _torn_file(tmp_path: Path, record: Callable[[int], dict]) -> Path:
    path = tmp_path / "data.jsonl"
    whole = _line(record(2))
    torn = whole[: len(whole) // 2]  # a write cut short by a kill
    path.write_bytes(_line(record(0)) + _line(record(1)) + torn)
    return path


@pytest.mark.parametrize("reader", sorted(set(READERS) - USER_INPUTS))
def test_a_torn_last_line_of_an_appended_file_is_dropped(tmp_path, reader):
    read, record = READERS[reader]
    assert read(_torn_file(tmp_path, record)) == 2


@pytest.mark.parametrize("reader", sorted(USER_INPUTS))
def test_a_torn_last_line_of_user_input_is_an_error_naming_it(tmp_path, reader):
    read, record = READERS[reader]
    path = _torn_file(tmp_path, record)
    with pytest.raises(Exception) as error:
        read(path)
    assert f"{path}:3" in str(error.value) and "not valid JSON" in str(error.value)


@pytest.mark.parametrize("line, message", [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"n": ' + b"9" * 5000 + b"}", "digits"),
])
def test_hostile_json_is_an_error_naming_the_line(tmp_path, line, message):
    path = tmp_path / "data.jsonl"
    path.write_bytes(_line({"n": 0}) + line + b"\n")
    with pytest.raises(InputFileError) as error:
        list(read_jsonl(path))
    assert f"{path}:2" in str(error.value) and message in str(error.value)


# Derived data is relearned instead (test_coq_soundness: a damaged axiom cache is set aside).
CACHES = {"coq axiom cache"}


@pytest.mark.parametrize("reader", sorted(set(READERS) - CACHES))
def test_a_bad_line_elsewhere_is_an_error_naming_file_and_line(tmp_path, reader):
    read, record = READERS[reader]
    path = tmp_path / "data.jsonl"
    path.write_bytes(_line(record(0)) + b'{"oops": \n' + _line(record(1)))
    with pytest.raises(Exception) as error:
        read(path)
    assert f"{path}:2:10: not valid JSON: Expecting value" in str(error.value)
    assert not isinstance(error.value, json.JSONDecodeError)  # a clear message, not a traceback from deep inside


def _append_jsonl(path: Path, record: dict) -> None:
    with JsonlAppender(path) as out:
        out.append(record)


def _append_result(path: Path, record: dict) -> None:
    from proofsmith.formats.run_records import ResultsFile

    with ResultsFile(path) as results:
        results.open()
        results.append(record)


def _learn_axioms(path: Path, record: dict) -> None:
    from proofsmith.checker.coq.axiom_cache import LibraryAxiomCache

    LibraryAxiomCache(path).put(record["constant"], frozenset(record["axioms"]))


# writer name -> (append one record, the reader of its file, the i-th valid record)
WRITERS = {
    "JsonlAppender": (_append_jsonl, "read_jsonl"),
    "eval results": (_append_result, "eval results (resume)"),
    "coq axiom cache": (_learn_axioms, "coq axiom cache"),
}


@pytest.mark.parametrize("writer", WRITERS)
def test_a_resumed_writer_cuts_the_torn_line_and_appends_a_valid_one(tmp_path, writer):
    append, reader = WRITERS[writer]
    read, record = READERS[reader]
    path = tmp_path / "data.jsonl"
    path.write_bytes(_line(record(0)) + _line(record(1))[:-9])
    append(path, record(1))
    assert path.read_bytes() == _line(record(0)) + _line(record(1))
    append(path, record(2))
    assert read(path) == 3


def test_a_complete_last_record_without_its_newline_is_kept_and_terminated(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_bytes(b'{"n": 0}\n{"n": 1}')
    assert [r["n"] for _, r in read_jsonl(path)] == [0, 1]
    _append_jsonl(path, {"n": 2})
    assert path.read_bytes() == b'{"n": 0}\n{"n": 1}\n{"n": 2}\n'


def test_an_unfinished_multibyte_character_is_a_torn_line_too(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_bytes(b'{"n": 0}\n' + '{"n": "é"}'.encode()[:8])
    assert [r["n"] for _, r in read_jsonl(path, appended=True)] == [0]


def test_an_empty_or_missing_log_is_no_records_but_an_input_file_must_have_some(tmp_path):
    path = tmp_path / "log.jsonl"
    assert list(read_jsonl(path, missing_ok=True)) == []
    with pytest.raises(InputFileError, match="no such file"):
        list(read_jsonl(path))
    path.write_bytes(b"")
    with pytest.raises(InputFileError, match="no records"):
        list(read_jsonl(path))


def test_an_exclusive_appender_refuses_a_second_writer(tmp_path):
    from proofsmith.formats.json_files import FileInUseError

    path = tmp_path / "data.jsonl"
    with JsonlAppender(path, exclusive=True):
        with pytest.raises(FileInUseError, match="another process is writing to this file"):
            JsonlAppender(path, exclusive=True).open()


def test_a_rewrite_that_fails_midway_leaves_the_old_file(tmp_path):
    path = tmp_path / "data.jsonl"
    write_jsonl(path, [{"n": 0}, {"n": 1}])

    def records():
        yield {"n": 2}
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        write_jsonl(path, records())
    assert path.read_bytes() == b'{"n": 0}\n{"n": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["data.jsonl"]
