"""A LeanDojo Benchmark 4 directory for retrieval: its corpus, its split files (their format
is formats.leandojo) and the retrieval queries they give.

One retrieval query is one tactic: the goal state before it, asked from the
theorem's position, answered by the premises the tactic used (as in ReProver).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from proofsmith.formats.json_files import InputFileError
from proofsmith.formats.leandojo import PARTS, STRATEGIES, Pos, TracedTheorem, read_split
from proofsmith.retrieval.corpus import Corpus, CorpusError
from proofsmith.retrieval.errors import RetrievalInputError

log = logging.getLogger(__name__)


class BenchmarkError(RetrievalInputError):
    """A benchmark directory or split file that does not follow the schema."""


@dataclass(frozen=True)
class Query:
    """One retrieval question: a goal state asked from a place in a file."""

    state: str
    file_path: str | None
    pos: Pos | None
    theorem: str = ""
    tactic_index: int = 0
    positives: frozenset[int] = frozenset()


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
