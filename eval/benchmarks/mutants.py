"""Loader for a mutant corpus written by `proofsmith synth mutate`.

The record (`MutantRecord`) and its validation are formats.mutant_record's:
a Coq problem with its provenance and the load path its library needs. The
split is the parent's, so mutants of one library theorem never straddle train
and test. Problems are categorised by rule (rewrite / apply), which reports
break pass rates down by.
"""

from __future__ import annotations

from pathlib import Path

from proofsmith.checker.types import Source, Theorem
from proofsmith.eval.benchmarks.problem import Benchmark, Problem
from proofsmith.formats.coq_load_path import LoadPath
from proofsmith.formats.json_files import InputFileError
from proofsmith.formats.mutant_record import read_records


def load_mutants(path: Path, split: str, name: str = "coq-mutants") -> Benchmark:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    sources: set[tuple[str, str]] = set()
    load_path = LoadPath()
    for line, record in read_records(path):
        if record.split != split:
            continue
        source = Source(*record.source_parts())
        if record.load_path is not None:
            load_path = load_path.merged(record.load_path)
        sources.add((source.repo, source.commit))
        if record.name in seen:
            first = seen[record.name]
            raise InputFileError(path, f"duplicate name {record.name!r} (first on line {first})", line, "name")
        seen[record.name] = line
        problems.append(
            Problem(
                theorem=Theorem(record.name, record.statement, record.header, backend="coq", source=source),
                split=split,
                category=record.rule,
                extra={"parent": record.parent, "premise": record.premise},
            )
        )
    if not problems:
        raise InputFileError(path, f"no mutants in split {split!r}")
    repo, commit = sources.pop() if len(sources) == 1 else ("(several repositories)", "(several commits)")
    return Benchmark(name, split, "coq", repo, commit, str(path), tuple(problems), load_path)
