"""LeanDojo Benchmark 4 split files: the layout and the traced theorems, read and written here.

A benchmark directory (what LeanDojo exports, and what `proofsmith trace` and
`proofsmith synth mutate` write) holds::

    metadata.json                         LeanDojo: {"from_repo": {"url", "commit"}, ...}
    corpus.jsonl                          the premise corpus (retrieval.corpus)
    random/{train,val,test}.json          a JSON list of theorems each
    novel_premises/{train,val,test}.json

A theorem is::

    {"url", "commit", "file_path", "full_name", "start": [l, c], "end": [l, c],
     "traced_tactics": [{"tactic", "annotated_tactic": [text, [provenance...]],
                         "state_before", "state_after"}]}

where a provenance is ``{"full_name", "def_path", "def_pos", "def_end_pos"}``
(only ``full_name`` required) for every premise the tactic names. Writers may
add keys of their own (the Coq tracer: ``kind``, ``module``, ``statement``,
``type``, ``proof``; mutants: ``header``, ``statement``, ``parent``, ``rule``):
they are kept in `TracedTheorem.extra` and written back after the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proofsmith.formats.json_files import InputFileError, get_field, get_position, read_json, write_json

STRATEGIES = ("random", "novel_premises")  # how the theorems were divided
PARTS = ("train", "val", "test")
# A split is one file of the benchmark: "random/test" is random/test.json.
SPLITS = tuple(f"{strategy}/{part}" for strategy in STRATEGIES for part in PARTS)

Pos = tuple[int, int]  # [line, column] as LeanDojo writes them


@dataclass(frozen=True)
class Provenance:
    full_name: str
    def_path: str | None = None
    def_pos: Pos | None = None
    def_end_pos: Pos | None = None

    @classmethod
    def from_json(cls, raw: Any, path: Path, where: str) -> Provenance:
        if not (isinstance(raw, dict) and isinstance(raw.get("full_name"), str)):
            raise InputFileError(path, "expected an object with a string full_name", None, where)
        def_path = get_field(raw, "def_path", str, path, None, optional=True, where=where)
        def_pos, def_end_pos = (
            get_position(raw, key, path, None, where=where) if raw.get(key) is not None else None
            for key in ("def_pos", "def_end_pos")
        )
        return cls(raw["full_name"], def_path, def_pos, def_end_pos)

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"full_name": self.full_name}
        if self.def_path is not None:
            record["def_path"] = self.def_path
        if self.def_pos is not None:
            record["def_pos"] = list(self.def_pos)
        if self.def_end_pos is not None:
            record["def_end_pos"] = list(self.def_end_pos)
        return record


@dataclass(frozen=True)
class TracedTactic:
    tactic: str
    annotated: str  # the tactic with each premise use marked <a>name</a>
    provenances: tuple[Provenance, ...]
    state_before: str
    state_after: str

    @classmethod
    def from_json(cls, raw: Any, path: Path, where: str) -> TracedTactic:
        if not isinstance(raw, dict):
            raise InputFileError(path, "expected an object", None, where)
        for key in ("tactic", "state_before", "state_after"):
            if not isinstance(raw.get(key), str):
                raise InputFileError(path, "missing or not a string", None, f"{where}.{key}")
        annotated = raw.get("annotated_tactic")
        if not (isinstance(annotated, list) and len(annotated) == 2 and isinstance(annotated[0], str)
                and isinstance(annotated[1], list)):
            raise InputFileError(
                path, "expected [annotated text, [premise provenance, ...]]", None, f"{where}.annotated_tactic"
            )
        provenances = tuple(
            Provenance.from_json(p, path, f"{where}.annotated_tactic[1][{j}]") for j, p in enumerate(annotated[1])
        )
        return cls(raw["tactic"], annotated[0], provenances, raw["state_before"], raw["state_after"])

    def to_json(self) -> dict[str, Any]:
        return {
            "tactic": self.tactic,
            "annotated_tactic": [self.annotated, [p.to_json() for p in self.provenances]],
            "state_before": self.state_before,
            "state_after": self.state_after,
        }


_THEOREM_KEYS = ("url", "commit", "file_path", "full_name", "start", "end", "traced_tactics")


@dataclass(frozen=True)
class TracedTheorem:
    url: str
    commit: str
    file_path: str
    full_name: str
    start: Pos
    end: Pos
    traced_tactics: tuple[TracedTactic, ...]
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # a writer's own keys, in order

    @classmethod
    def from_json(cls, raw: Any, path: Path, where: str) -> TracedTheorem:
        if not isinstance(raw, dict):
            raise InputFileError(path, f"expected an object, got {type(raw).__name__}", None, where)
        full_name = get_field(raw, "full_name", str, path, None, nonempty=True, where=where)
        url = get_field(raw, "url", str, path, None, where=where)
        commit = get_field(raw, "commit", str, path, None, where=where)
        file_path = get_field(raw, "file_path", str, path, None, nonempty=True, where=where)
        start = get_position(raw, "start", path, None, where=where)
        end = get_position(raw, "end", path, None, where=where)
        tactics = get_field(raw, "traced_tactics", list, path, None, where=where)
        return cls(
            url,
            commit,
            file_path,
            full_name,
            start,
            end,
            tuple(TracedTactic.from_json(t, path, f"{where}.traced_tactics[{j}]") for j, t in enumerate(tactics)),
            {k: v for k, v in raw.items() if k not in _THEOREM_KEYS},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "commit": self.commit,
            "file_path": self.file_path,
            "full_name": self.full_name,
            "start": list(self.start),
            "end": list(self.end),
            "traced_tactics": [t.to_json() for t in self.traced_tactics],
            **self.extra,
        }


def split_file(root: Path, split: str, expected: str) -> Path:
    """The file of `split` in the benchmark directory `root`; InputFileError for a split not in
    SPLITS or a `root` that is not a directory (`expected` says what it should be)."""
    if split not in SPLITS:
        raise InputFileError(root, f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if not root.is_dir():
        raise InputFileError(root, f"expected {expected}")
    return root / f"{split}.json"


def read_split(path: Path) -> list[TracedTheorem]:
    """The theorems of one split file; InputFileError names file and field of anything wrong."""
    data = read_json(path)
    if not isinstance(data, list):
        raise InputFileError(path, f"expected a JSON list of theorems, got {type(data).__name__}")
    return [TracedTheorem.from_json(raw, path, f"[{i}]") for i, raw in enumerate(data)]


def write_split(path: Path, theorems: list[TracedTheorem]) -> None:
    write_json(path, [t.to_json() for t in theorems])


def read_from_repo(root: Path) -> tuple[str, str]:
    """The traced repository's url and commit, from LeanDojo's metadata.json."""
    path = root / "metadata.json"
    metadata = read_json(path)
    if not isinstance(metadata, dict):
        raise InputFileError(path, "expected a JSON object")
    from_repo = get_field(metadata, "from_repo", dict, path, None)
    url = get_field(from_repo, "url", str, path, None, nonempty=True, where="from_repo")
    commit = get_field(from_repo, "commit", str, path, None, nonempty=True, where="from_repo")
    return url, commit
