"""Loader for a LeanDojo Benchmark 4 directory on the user's disk.

The format (layout, theorem schema, validation) is `retrieval.benchmark`'s;
this turns one split file into problems. LeanDojo Benchmark carries no
statement text: a theorem is identified by repository, commit, file and
position, and a Lean backend reads the statement from the traced repository,
so url and commit must not be empty here. The premise corpus is read by
`retrieval.corpus`; this loader only checks that it is there.
"""

from __future__ import annotations

from pathlib import Path

from proofsmith.checker.types import Source, Theorem
from proofsmith.eval.benchmarks.problem import Benchmark, Problem, library_area
from proofsmith.formats.json_files import InputFileError
from proofsmith.formats.leandojo import read_from_repo, read_split, split_file


def load_leandojo(root: Path, split: str) -> Benchmark:
    split_path = split_file(root, split, "a LeanDojo Benchmark 4 directory (metadata.json, corpus.jsonl, random/, novel_premises/)")
    repo_url, repo_commit = read_from_repo(root)
    if not (root / "corpus.jsonl").is_file():
        raise InputFileError(root / "corpus.jsonl", "no such file (the premise corpus of the benchmark)")

    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, theorem in enumerate(read_split(split_path)):
        where = f"[{i}]"
        for key in ("url", "commit"):
            if not getattr(theorem, key):
                raise InputFileError(split_path, "must not be empty", None, f"{where}.{key}")
        if theorem.full_name in seen:
            raise InputFileError(
                split_path, f"duplicate theorem {theorem.full_name!r} (first at [{seen[theorem.full_name]}])", None,
                f"{where}.full_name",
            )
        seen[theorem.full_name] = i
        tactics = theorem.traced_tactics
        problems.append(
            Problem(
                theorem=Theorem(
                    name=theorem.full_name, statement="", header="", backend="lean",
                    source=Source(theorem.url, theorem.commit, theorem.file_path),
                ),
                split=split,
                category=library_area(theorem.file_path),
                extra={
                    "start": theorem.start,
                    "end": theorem.end,
                    "initial_goal": tactics[0].state_before if tactics else None,
                    "traced_tactics": len(tactics),
                },
            )
        )
    if not problems:
        raise InputFileError(split_path, "no theorems in this split")
    return Benchmark("leandojo", split, "lean", repo_url, repo_commit, str(root), tuple(problems))
