"""Loader for a LeanDojo Benchmark 4 directory on the user's disk.

The layout, exactly as LeanDojo exports it::

    metadata.json                 {"from_repo": {"url", "commit"}, ...}
    corpus.jsonl                  one file per line: {"path", "imports", "premises"}
    random/{train,val,test}.json  a JSON list of theorems
    novel_premises/{train,val,test}.json

A theorem is ``{"url", "commit", "file_path", "full_name", "start": [line, col],
"end": [line, col], "traced_tactics": [{"tactic", "annotated_tactic":
[text, [{"full_name", "def_path", "def_pos", "def_end_pos"}, ...]],
"state_before", "state_after"}, ...]}``.

LeanDojo Benchmark carries no statement text: a theorem is identified by
repository, commit, file and position, and a Lean backend reads the statement
from the traced repository. The premise corpus is read by `retrieval.corpus`;
this loader only checks that it is there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.types import Source, Theorem
from eval.benchmarks.problem import Benchmark, Problem
from eval.benchmarks.records import BenchmarkDataError, get_field, read_json

STRATEGIES = ("random", "novel_premises")
PARTS = ("train", "val", "test")
SPLITS = tuple(f"{s}/{p}" for s in STRATEGIES for p in PARTS)


def _position(record: dict[str, Any], name: str, path: Path, where: str) -> tuple[int, int]:
    value = get_field(record, name, list, path, None)
    if len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise BenchmarkDataError(path, f"expected [line, column], got {value!r}", None, f"{where}.{name}")
    return value[0], value[1]


def _check_tactic(tactic: Any, path: Path, where: str) -> None:
    if not isinstance(tactic, dict):
        raise BenchmarkDataError(path, "expected an object", None, where)
    for key in ("tactic", "state_before", "state_after"):
        if not isinstance(tactic.get(key), str):
            raise BenchmarkDataError(path, "missing or not a string", None, f"{where}.{key}")
    annotated = tactic.get("annotated_tactic")
    if not (isinstance(annotated, list) and len(annotated) == 2 and isinstance(annotated[0], str) and isinstance(annotated[1], list)):
        raise BenchmarkDataError(path, "expected [annotated text, [premise provenance, ...]]", None, f"{where}.annotated_tactic")
    for j, premise in enumerate(annotated[1]):
        if not (isinstance(premise, dict) and isinstance(premise.get("full_name"), str)):
            raise BenchmarkDataError(path, "expected an object with a string full_name", None, f"{where}.annotated_tactic[1][{j}]")


def _field_at(record: dict[str, Any], name: str, kind: type, path: Path, where: str, nonempty: bool = False) -> Any:
    try:
        return get_field(record, name, kind, path, None, nonempty=nonempty)
    except BenchmarkDataError as exc:
        message = str(exc).split(": ", 2)[-1]
        raise BenchmarkDataError(path, message, None, f"{where}.{name}") from None


def _area(file_path: str) -> str:
    """The library area a theorem belongs to, for per-area pass rates: Mathlib/Algebra/... -> Algebra."""
    parts = file_path.removesuffix(".lean").split("/")
    return parts[1] if len(parts) > 2 else parts[-1]


def load_leandojo(root: Path, split: str) -> Benchmark:
    if split not in SPLITS:
        raise BenchmarkDataError(root, f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if not root.is_dir():
        raise BenchmarkDataError(root, "expected a LeanDojo Benchmark 4 directory (metadata.json, corpus.jsonl, random/, novel_premises/)")
    metadata_path = root / "metadata.json"
    metadata = read_json(metadata_path)
    if not isinstance(metadata, dict):
        raise BenchmarkDataError(metadata_path, "expected a JSON object")
    from_repo = get_field(metadata, "from_repo", dict, metadata_path, None)
    repo_url = _field_at(from_repo, "url", str, metadata_path, "from_repo", nonempty=True)
    repo_commit = _field_at(from_repo, "commit", str, metadata_path, "from_repo", nonempty=True)
    if not (root / "corpus.jsonl").is_file():
        raise BenchmarkDataError(root / "corpus.jsonl", "no such file (the premise corpus of the benchmark)")

    split_path = root / f"{split}.json"
    theorems = read_json(split_path)
    if not isinstance(theorems, list):
        raise BenchmarkDataError(split_path, f"expected a JSON list of theorems, got {type(theorems).__name__}")
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, record in enumerate(theorems):
        where = f"[{i}]"
        if not isinstance(record, dict):
            raise BenchmarkDataError(split_path, f"expected an object, got {type(record).__name__}", None, where)
        full_name = _field_at(record, "full_name", str, split_path, where, nonempty=True)
        url = _field_at(record, "url", str, split_path, where, nonempty=True)
        commit = _field_at(record, "commit", str, split_path, where, nonempty=True)
        file_path = _field_at(record, "file_path", str, split_path, where, nonempty=True)
        start = _position(record, "start", split_path, where)
        end = _position(record, "end", split_path, where)
        tactics = _field_at(record, "traced_tactics", list, split_path, where)
        for j, tactic in enumerate(tactics):
            _check_tactic(tactic, split_path, f"{where}.traced_tactics[{j}]")
        if full_name in seen:
            raise BenchmarkDataError(split_path, f"duplicate theorem {full_name!r} (first at [{seen[full_name]}])", None, f"{where}.full_name")
        seen[full_name] = i
        problems.append(
            Problem(
                theorem=Theorem(name=full_name, statement="", header="", backend="lean", source=Source(url, commit, file_path)),
                split=split,
                category=_area(file_path),
                extra={
                    "start": start,
                    "end": end,
                    "initial_goal": tactics[0]["state_before"] if tactics else None,
                    "traced_tactics": len(tactics),
                },
            )
        )
    if not problems:
        raise BenchmarkDataError(split_path, "no theorems in this split")
    return Benchmark("leandojo", split, "lean", repo_url, repo_commit, str(root), tuple(problems))
