"""Loader for Lean 4 statement files (miniF2F-lean4).

One JSON object per line: ``name``, ``split``, ``path`` (file in the source
repo), ``header`` (imports, options, ``open``), ``formal_statement`` (ending in
``:= by sorry``), ``source_repo``, ``source_commit``, ``lean_toolchain``,
``mathlib``.
"""

from __future__ import annotations

import re
from pathlib import Path

from proofsmith.checker.types import Source, Theorem
from proofsmith.eval.benchmarks.problem import Benchmark, Problem, competition_family
from proofsmith.formats.json_files import InputFileError, get_field, read_jsonl

_SORRY_TAIL = re.compile(r"\s*:=\s*by\s+sorry\s*$")


def load_lean_statements(path: Path, benchmark: str, split: str, splits: tuple[str, ...]) -> Benchmark:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    sources: set[tuple[str, str]] = set()
    for line, record in read_jsonl(path):
        name = get_field(record, "name", str, path, line, nonempty=True)
        record_split = get_field(record, "split", str, path, line, nonempty=True)
        if record_split not in splits:
            raise InputFileError(
                path, f"{record_split!r} is not a split of {benchmark} ({', '.join(splits)})", line, "split"
            )
        header = get_field(record, "header", str, path, line)
        formal = get_field(record, "formal_statement", str, path, line, nonempty=True)
        tail = _SORRY_TAIL.search(formal)
        if tail is None:
            raise InputFileError(path, "expected the statement to end in ':= by sorry'", line, "formal_statement")
        repo = get_field(record, "source_repo", str, path, line, nonempty=True)
        commit = get_field(record, "source_commit", str, path, line, nonempty=True)
        file_path = get_field(record, "path", str, path, line, nonempty=True)
        toolchain = get_field(record, "lean_toolchain", str, path, line, nonempty=True)
        mathlib = get_field(record, "mathlib", str, path, line, nonempty=True)
        sources.add((repo, commit))
        if record_split != split:
            continue
        if name in seen:
            raise InputFileError(path, f"duplicate name {name!r} in split {split} (first on line {seen[name]})", line, "name")
        seen[name] = line
        problems.append(
            Problem(
                theorem=Theorem(
                    name=name,
                    statement=formal[: tail.start()],
                    header=header,
                    backend="lean",
                    source=Source(repo, commit, file_path),
                ),
                split=split,
                category=competition_family(name),
                extra={"lean_toolchain": toolchain, "mathlib": mathlib},
            )
        )
    if not problems:
        raise InputFileError(path, f"no problems in split {split!r}")
    repo, commit = sources.pop() if len(sources) == 1 else ("(several repositories)", "(several commits)")
    return Benchmark(benchmark, split, "lean", repo, commit, str(path), tuple(problems))
