"""Retrievers: a goal state and a place in the library in, the best accessible premises out.

Queries are grouped by (file, position), so each distinct accessibility set
is computed once and handed to the ranking as a mask over premise ids.
``retrieve(goal, theorem, k)`` is the method the prover calls
(``prover.premises.PremiseRetriever``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from proofsmith.checker.types import Theorem
from proofsmith.formats.leandojo import Pos
from proofsmith.retrieval.benchmark import Query
from proofsmith.retrieval.corpus import Corpus, Premise
from proofsmith.retrieval.embedding_cache import corpus_embeddings
from proofsmith.retrieval.encoder import DEFAULT_ENCODER_NAME, EncoderError, TextEncoder
from proofsmith.retrieval.index import PremiseIndex, PremiseIndexError
from proofsmith.retrieval.settings import RetrievalSettings


@dataclass(frozen=True)
class Hit:
    premise: Premise
    score: float

    @property
    def name(self) -> str:
        return self.premise.full_name

    @property
    def statement(self) -> str:
        return self.premise.code


def encoder_meta(encoder: TextEncoder) -> dict[str, Any]:
    """What an index records about the encoder that filled it."""
    return {
        "name": encoder.name,
        "path": str(encoder.path),
        "fingerprint": encoder.fingerprint(),
        "max_length": encoder.max_length,
    }


def theorem_place(corpus: Corpus, theorem: Theorem) -> tuple[str | None, Pos | None]:
    """Where a theorem sits in the corpus, for accessibility.

    A library theorem is found by name. A theorem from a corpus file but not in
    the corpus sees only that file's imports. Anything else (a benchmark
    problem with its own header) is unrestricted.
    """
    premise = corpus.by_name.get(theorem.name)
    if premise is not None:
        return premise.path, premise.start
    if theorem.source is not None and theorem.source.path in corpus.files:
        return theorem.source.path, (0, 0)
    return None, None


class Retriever(ABC):
    corpus: Corpus

    @abstractmethod
    def _prepare(self, states: list[str]) -> Any:
        """Per-query representations, computed once for all queries."""

    @abstractmethod
    def _rank(self, prepared: Any, rows: np.ndarray, mask: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) arrays of shape (len(rows), k) for the given query rows."""

    def search(
        self, queries: Sequence[Query], k: int, progress: str | None = None
    ) -> list[list[Hit]]:
        prepared = self._prepare([q.state for q in queries])
        groups: dict[tuple, list[int]] = defaultdict(list)
        for row, q in enumerate(queries):
            groups[(q.file_path, q.pos)].append(row)
        results: list[list[Hit]] = [[] for _ in queries]
        for (path, pos), rows in tqdm(
            groups.items(), desc=progress, unit="theorem", disable=progress is None
        ):
            mask = None if path is None else self.corpus.accessible_mask(path, pos)
            scores, ids = self._rank(prepared, np.asarray(rows), mask, k)
            for row, s, i in zip(rows, scores, ids):
                results[row] = [
                    Hit(self.corpus.premises[int(j)], float(v)) for j, v in zip(i, s) if j >= 0
                ]
        return results

    def retrieve(self, goal: str, theorem: Theorem, k: int) -> list[Hit]:
        path, pos = theorem_place(self.corpus, theorem)
        return self.search([Query(goal, path, pos, theorem.name)], k)[0]


class DenseRetriever(Retriever):
    """An encoder plus a FAISS premise index (exact, or approximate on request)."""

    def __init__(
        self,
        encoder: TextEncoder,
        index: PremiseIndex,
        approximate: bool = False,
        batch_size: int = 64,
    ) -> None:
        if encoder.dim != index.dim:
            raise EncoderError(
                f"encoder {encoder.name} makes {encoder.dim}-d vectors, the index holds {index.dim}-d"
            )
        self.encoder = encoder
        self.index = index
        self.corpus = index.corpus
        self.approximate = approximate
        self.batch_size = batch_size

    @classmethod
    def load(
        cls,
        index_dir: str | Path,
        encoder_path: str | Path | None = None,
        approximate: bool = False,
        settings: RetrievalSettings | None = None,
    ) -> DenseRetriever:
        """An index folder with the encoder it was built with (or ``encoder_path``)."""
        settings = settings or RetrievalSettings()
        return cls.for_index(PremiseIndex.load(index_dir, settings), encoder_path, approximate, settings)

    @classmethod
    def for_index(
        cls,
        index: PremiseIndex,
        encoder_path: str | Path | None = None,
        approximate: bool = False,
        settings: RetrievalSettings | None = None,
    ) -> DenseRetriever:
        settings = settings or RetrievalSettings()
        recorded = index.meta.get("encoder", {})
        # The packaged default encoder is looked up wherever it is installed now.
        if encoder_path is None and recorded.get("name") != DEFAULT_ENCODER_NAME:
            if not recorded.get("path"):
                raise PremiseIndexError("the index records no encoder; pass one")
            encoder_path = recorded["path"]
        encoder = TextEncoder(encoder_path, max_length=recorded.get("max_length", settings.max_length))
        if recorded.get("fingerprint") and encoder.fingerprint() != recorded["fingerprint"]:
            raise PremiseIndexError(
                f"the index was built with encoder {recorded.get('name')}, whose weights differ from "
                f"{encoder.path}; rebuild the index with this encoder"
            )
        return cls(encoder, index, approximate, settings.batch_size)

    @classmethod
    def over(
        cls,
        corpus: Corpus,
        encoder: TextEncoder,
        settings: RetrievalSettings | None = None,
        approx: str = "none",
        cache: bool = True,
    ) -> DenseRetriever:
        """Embed ``corpus`` (through the embedding cache) and index it in memory."""
        settings = settings or RetrievalSettings()
        vectors = corpus_embeddings(
            corpus, encoder, settings.cache_dir if cache else None, settings.batch_size
        )
        index = PremiseIndex.build(corpus, vectors, approx, encoder_meta(encoder), settings)
        return cls(encoder, index, approximate=approx != "none", batch_size=settings.batch_size)

    def _prepare(self, states: list[str]) -> np.ndarray:
        return self.encoder.encode(states, batch_size=self.batch_size)

    def _rank(self, prepared, rows, mask, k):
        return self.index.search(prepared[rows], k, mask, approximate=self.approximate)


def top_k_masked(scores: np.ndarray, mask: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best k entries of each score row among the masked-in ids, ties by lower id; -1 padded."""
    nq, n = scores.shape
    candidates = np.arange(n) if mask is None else np.flatnonzero(mask)
    out_ids = np.full((nq, k), -1, dtype=np.int64)
    out_scores = np.full((nq, k), -np.inf, dtype=np.float32)
    want = min(k, len(candidates))
    if want == 0:
        return out_scores, out_ids
    sub = scores[:, candidates]
    for r in range(nq):
        row = sub[r]
        if want < len(row):
            part = np.argpartition(-row, want - 1)[:want]
            # argpartition breaks ties arbitrarily; widen to every tied score
            # at the cut so the final order is by (score, id) exactly.
            cut = row[part].min()
            part = np.flatnonzero(row >= cut)
        else:
            part = np.arange(len(row))
        order = np.lexsort((candidates[part], -row[part]))[:want]
        out_ids[r, :want] = candidates[part[order]]
        out_scores[r, :want] = row[part[order]]
    return out_scores, out_ids
