"""Traced theorems (LeanDojo Benchmark 4 split files) and the retrieval queries they give.

A benchmark directory holds ``corpus.jsonl`` and ``{random,novel_premises}/
{train,val,test}.json``. Each split file is a JSON list of theorems::

    {"url", "commit", "file_path", "full_name", "start": [l, c], "end": [l, c],
     "traced_tactics": [{"tactic", "annotated_tactic": [text, [provenance...]],
                         "state_before", "state_after"}]}

where a provenance is ``{"full_name", "def_path", "def_pos", "def_end_pos"}``
for every premise the tactic names. One retrieval query is one tactic: the goal
state before it, asked from the theorem's position, answered by the premises
the tactic used (as in ReProver).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.corpus import Corpus, CorpusError, Pos
from retrieval.errors import RetrievalInputError

log = logging.getLogger(__name__)

SPLITS = ("random", "novel_premises")
SUBSETS = ("train", "val", "test")


class BenchmarkError(RetrievalInputError):
    """A benchmark directory or split file that does not follow the schema."""


@dataclass(frozen=True)
class Provenance:
    full_name: str
    def_path: str | None = None
    def_pos: Pos | None = None


@dataclass(frozen=True)
class TracedTactic:
    tactic: str
    annotated: str
    provenances: tuple[Provenance, ...]
    state_before: str
    state_after: str


@dataclass(frozen=True)
class TracedTheorem:
    file_path: str
    full_name: str
    start: Pos
    end: Pos
    traced_tactics: tuple[TracedTactic, ...]
    url: str = ""
    commit: str = ""


@dataclass(frozen=True)
class Query:
    """One retrieval question: a goal state asked from a place in a file."""

    state: str
    file_path: str | None
    pos: Pos | None
    theorem: str = ""
    tactic_index: int = 0
    positives: frozenset[int] = frozenset()


def _pos(value: Any, where: str) -> Pos:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return (value[0], value[1])
    raise BenchmarkError(f"{where}: position must be [line, column], got {value!r}")


def _provenance(raw: Any, where: str) -> Provenance:
    if not isinstance(raw, dict) or not isinstance(raw.get("full_name"), str):
        raise BenchmarkError(f"{where}: a provenance needs a string 'full_name'")
    def_pos = raw.get("def_pos")
    return Provenance(
        raw["full_name"],
        raw.get("def_path"),
        _pos(def_pos, f"{where} def_pos") if def_pos is not None else None,
    )


def _tactic(raw: Any, where: str) -> TracedTactic:
    if not isinstance(raw, dict):
        raise BenchmarkError(f"{where}: a traced tactic must be an object")
    annotated = raw.get("annotated_tactic") or [raw.get("tactic", ""), []]
    if not (isinstance(annotated, list) and len(annotated) == 2 and isinstance(annotated[1], list)):
        raise BenchmarkError(f"{where}: 'annotated_tactic' must be [text, [provenances]]")
    state_before = raw.get("state_before")
    if not isinstance(state_before, str):
        raise BenchmarkError(f"{where}: 'state_before' must be a string")
    return TracedTactic(
        tactic=str(raw.get("tactic", "")),
        annotated=str(annotated[0]),
        provenances=tuple(
            _provenance(p, f"{where} provenance {i}") for i, p in enumerate(annotated[1])
        ),
        state_before=state_before,
        state_after=str(raw.get("state_after", "")),
    )


def load_theorems(path: str | Path) -> list[TracedTheorem]:
    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"{path}: no such split file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BenchmarkError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, list):
        raise BenchmarkError(f"{path}: a split file must be a JSON list of theorems")
    theorems = []
    for i, raw in enumerate(data):
        where = f"{path} theorem {i}"
        if not isinstance(raw, dict) or not isinstance(raw.get("file_path"), str):
            raise BenchmarkError(f"{where}: needs a string 'file_path'")
        tactics = raw.get("traced_tactics", [])
        if not isinstance(tactics, list):
            raise BenchmarkError(f"{where}: 'traced_tactics' must be a list")
        theorems.append(
            TracedTheorem(
                file_path=raw["file_path"],
                full_name=str(raw.get("full_name", "")),
                start=_pos(raw.get("start"), f"{where} start"),
                end=_pos(raw.get("end", raw.get("start")), f"{where} end"),
                traced_tactics=tuple(
                    _tactic(t, f"{where} tactic {j}") for j, t in enumerate(tactics)
                ),
                url=str(raw.get("url", "")),
                commit=str(raw.get("commit", "")),
            )
        )
    return theorems


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
        if split not in SPLITS:
            raise BenchmarkError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
        if subset not in SUBSETS:
            raise BenchmarkError(f"unknown subset {subset!r}: expected one of {', '.join(SUBSETS)}")
        return self.root / split / f"{subset}.json"

    def theorems(self, split: str, subset: str) -> list[TracedTheorem]:
        return load_theorems(self.split_path(split, subset))

    def queries(self, split: str, subset: str) -> list[Query]:
        return queries_from(self.corpus, self.theorems(split, subset))
