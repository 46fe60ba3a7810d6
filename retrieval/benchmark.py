"""LeanDojo Benchmark 4 split files: the layout, the traced theorems (read and written here),
and the retrieval queries they give.

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

One retrieval query is one tactic: the goal state before it, asked from the
theorem's position, answered by the premises the tactic used (as in ReProver).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proofsmith.formats.json_files import InputFileError, get_field, get_position, read_json, write_json
from proofsmith.retrieval.corpus import Corpus, CorpusError, Pos
from proofsmith.retrieval.errors import RetrievalInputError

log = logging.getLogger(__name__)

STRATEGIES = ("random", "novel_premises")  # how the theorems were divided
PARTS = ("train", "val", "test")
# A split is one file of the benchmark: "random/test" is random/test.json.
SPLITS = tuple(f"{strategy}/{part}" for strategy in STRATEGIES for part in PARTS)


class BenchmarkError(RetrievalInputError):
    """A benchmark directory or split file that does not follow the schema."""


@dataclass(frozen=True)
class Provenance:
    full_name: str
    def_path: str | None = None
    def_pos: Pos | None = None
    def_end_pos: Pos | None = None

    @classmethod
    def from_json(cls, raw: Any, path: Path, where: str) -> "Provenance":
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
    def from_json(cls, raw: Any, path: Path, where: str) -> "TracedTactic":
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
    def from_json(cls, raw: Any, path: Path, where: str) -> "TracedTheorem":
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


@dataclass(frozen=True)
class Query:
    """One retrieval question: a goal state asked from a place in a file."""

    state: str
    file_path: str | None
    pos: Pos | None
    theorem: str = ""
    tactic_index: int = 0
    positives: frozenset[int] = frozenset()


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


def load_theorems(path: str | Path) -> list[TracedTheorem]:
    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"{path}: no such split file")
    try:
        return read_split(path)
    except InputFileError as exc:
        raise BenchmarkError(str(exc)) from None


def queries_from(corpus: Corpus, theorems: list[TracedTheorem]) -> list[Query]:
    """One query per traced tactic, positives resolved to corpus premise ids.

    Provenances that resolve to no premise, or to one the theorem cannot
    access (a tracer bug, or a premise the corpus skipped), are dropped and
    counted in the log rather than silently making the task easier.
    """
    queries = []
    unresolved = inaccessible = 0
    for thm in theorems:
        if thm.file_path not in corpus.files:
            raise BenchmarkError(
                f"theorem {thm.full_name}: file {thm.file_path!r} is not in the corpus"
            )
        mask = None
        for i, tac in enumerate(thm.traced_tactics):
            positives = set()
            for prov in tac.provenances:
                premise = corpus.resolve(prov.full_name, prov.def_path, prov.def_pos)
                if premise is None:
                    unresolved += 1
                    continue
                if mask is None:
                    mask = corpus.accessible_mask(thm.file_path, thm.start)
                if not mask[premise.id]:
                    inaccessible += 1
                    continue
                positives.add(premise.id)
            queries.append(
                Query(tac.state_before, thm.file_path, thm.start, thm.full_name, i, frozenset(positives))
            )
    if unresolved or inaccessible:
        log.warning(
            "%d provenances name no corpus premise, %d name an inaccessible one (dropped)",
            unresolved,
            inaccessible,
        )
    return queries


class Benchmark:
    """A benchmark directory: the corpus plus its split files."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise BenchmarkError(f"{self.root}: no such benchmark directory")
        try:
            self.corpus = Corpus.load(self.root / "corpus.jsonl")
        except CorpusError as exc:
            raise BenchmarkError(str(exc)) from None

    def split_path(self, split: str, subset: str) -> Path:
        """random/test.json for ("random", "test")."""
        if split not in STRATEGIES:
            raise BenchmarkError(f"unknown split {split!r}: expected one of {', '.join(STRATEGIES)}")
        if subset not in PARTS:
            raise BenchmarkError(f"unknown subset {subset!r}: expected one of {', '.join(PARTS)}")
        return self.root / split / f"{subset}.json"

    def theorems(self, split: str, subset: str) -> list[TracedTheorem]:
        return load_theorems(self.split_path(split, subset))

    def queries(self, split: str, subset: str) -> list[Query]:
        return queries_from(self.corpus, self.theorems(split, subset))
