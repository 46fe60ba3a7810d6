"""Loader for a mutant corpus written by `proofsmith synth mutate` (data_synth.mutant_corpus).

Each line is a Coq problem (``name``, ``split``, ``header``, ``statement``) with
its provenance (``parent``, ``rule``, ``premise``, ``source`` as
``owner/repo@commit path``) and the Coq load path its library needs
(``load_path``, Coq flags; older corpora have none). The split is the
parent's, so mutants of one library theorem never straddle train and test.
Problems are categorised by rule (rewrite / apply), which reports break pass
rates down by.
"""

from __future__ import annotations

import re
from pathlib import Path

from checker.coq.load_path import LoadPath, LoadPathError
from checker.types import Source, Theorem
from eval.benchmarks.problem import Benchmark, Problem
from eval.benchmarks.records import BenchmarkDataError, get_field, read_jsonl

SPLITS = ("train", "val", "test")
_SOURCE = re.compile(r"^(?P<repo>[^@\s]+)@(?P<commit>\S+) (?P<path>\S.*)$")


def load_mutants(path: Path, split: str, name: str = "coq-mutants") -> Benchmark:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    sources: set[tuple[str, str]] = set()
    load_path = LoadPath()
    for line, record in read_jsonl(path):
        record_split = get_field(record, "split", str, path, line, nonempty=True)
        if record_split not in SPLITS:
            raise BenchmarkDataError(path, f"{record_split!r} is not one of {', '.join(SPLITS)}", line, "split")
        if record_split != split:
            continue
        theorem_name = get_field(record, "name", str, path, line, nonempty=True)
        header = get_field(record, "header", str, path, line)
        statement = get_field(record, "statement", str, path, line, nonempty=True)
        rule = get_field(record, "rule", str, path, line, nonempty=True)
        parent = get_field(record, "parent", str, path, line, nonempty=True)
        match = _SOURCE.match(get_field(record, "source", str, path, line, nonempty=True))
        if match is None:
            raise BenchmarkDataError(path, "expected 'owner/repo@commit path'", line, "source")
        source = Source(match["repo"], match["commit"], match["path"])
        if "load_path" in record:
            try:
                load_path = load_path.merged(LoadPath.from_json(record["load_path"], where=""))
            except LoadPathError as exc:
                raise BenchmarkDataError(path, str(exc), line, "load_path") from None
        sources.add((source.repo, source.commit))
        if theorem_name in seen:
            raise BenchmarkDataError(path, f"duplicate name {theorem_name!r} (first on line {seen[theorem_name]})", line, "name")
        seen[theorem_name] = line
        problems.append(
            Problem(
                theorem=Theorem(theorem_name, statement, header, backend="coq", source=source),
                split=split,
                category=rule,
                extra={"parent": parent, "premise": record.get("premise", "")},
            )
        )
    if not problems:
        raise BenchmarkDataError(path, f"no mutants in split {split!r}")
    repo, commit = sources.pop() if len(sources) == 1 else ("(several repositories)", "(several commits)")
    return Benchmark(name, split, "coq", repo, commit, str(path), tuple(problems), load_path)
