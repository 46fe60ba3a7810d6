"""Loader for Coq statement files (miniF2F-Coq, PutnamBench Coq).

One JSON object per line:
``name`` (str), ``split`` (str), ``header`` (str, everything before the theorem
in its source file, byte-exact), ``statement`` (str, ``Theorem NAME ... .``),
``compiles_coq816`` (bool) and ``error`` (str or null): whether the statement
compiled when the file was made, ``debian_packages`` (list of str) the header
needs, ``source`` (``owner/repo@commit path``).
"""

from __future__ import annotations

import re
from pathlib import Path

from proofsmith.checker.coq.guard import THEOREM_KEYWORDS
from proofsmith.checker.coq.sentences import leading_word
from proofsmith.checker.types import Source, Theorem
from proofsmith.eval.benchmarks.problem import Benchmark, Problem, competition_family
from proofsmith.formats.json_files import InputFileError, get_field, read_jsonl, string_list

_SOURCE = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)@(?P<commit>[0-9a-f]{7,40}) (?P<path>\S.*)$")


def parse_source(text: str, path: Path, line: int) -> Source:
    match = _SOURCE.match(text)
    if match is None:
        raise InputFileError(path, f"expected 'owner/repo@commit path', got {text[:80]!r}", line, "source")
    return Source(match["repo"], match["commit"], match["path"])


def load_coq_statements(path: Path, benchmark: str, split: str, splits: tuple[str, ...]) -> Benchmark:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    splits_found: set[str] = set()
    sources: set[tuple[str, str]] = set()
    for line, record in read_jsonl(path):
        name = get_field(record, "name", str, path, line, nonempty=True)
        record_split = get_field(record, "split", str, path, line, nonempty=True)
        splits_found.add(record_split)
        if record_split not in splits:
            raise InputFileError(
                path, f"{record_split!r} is not a split of {benchmark} ({', '.join(splits)})", line, "split"
            )
        header = get_field(record, "header", str, path, line)
        statement = get_field(record, "statement", str, path, line, nonempty=True)
        if leading_word(statement) not in THEOREM_KEYWORDS:
            raise InputFileError(path, f"expected 'Theorem NAME ...', got {statement[:60]!r}", line, "statement")
        compiles = get_field(record, "compiles_coq816", bool, path, line, optional=True)
        error = get_field(record, "error", str, path, line, optional=True)
        packages = string_list(record, "debian_packages", path, line, optional=True)
        source = parse_source(get_field(record, "source", str, path, line, nonempty=True), path, line)
        sources.add((source.repo, source.commit))
        if record_split != split:
            continue
        if name in seen:
            raise InputFileError(path, f"duplicate name {name!r} in split {split} (first on line {seen[name]})", line, "name")
        seen[name] = line
        note = None
        if compiles is False:
            note = "did not compile on Coq 8.16.1 when the dataset was built" + (f": {error}" if error else "")
        problems.append(
            Problem(
                theorem=Theorem(name=name, statement=statement, header=header, backend="coq", source=source),
                split=split,
                category=competition_family(name),
                requires=tuple(packages),
                dataset_note=note,
            )
        )
    if not problems:
        raise InputFileError(
            path, f"no problems in split {split!r} (splits in this file: {', '.join(sorted(splits_found)) or 'none'})"
        )
    repo, commit = sources.pop() if len(sources) == 1 else ("(several repositories)", "(several commits)")
    return Benchmark(benchmark, split, "coq", repo, commit, str(path), tuple(problems))
