"""FAISS indexes over premise embeddings, searched only among accessible premises.

Every index keeps an exact inner-product index (IndexFlatIP) and, unless told
otherwise, an approximate one: HNSW for corpora up to
``hnsw_max_premises``, IVF above. Accessibility is enforced inside FAISS: the
search gets ``SearchParameters`` whose ``IDSelectorBitmap`` admits exactly the
accessible premise ids, so FAISS never scores or returns anything else. A
query gets ``min(k, number of accessible premises)`` results: when a filtered
approximate search comes back short (HNSW can, under a restrictive filter),
that query is answered by the exact index instead.

Exact search is memory-bound (the float32 vectors of a stdlib-sized corpus
do not fit the cache), so it runs in two stages: FAISS scans float16 copies
(half the bytes) under the same selector, and the candidates are re-scored
in float32. A bound on the float16 rounding proves the result equal to the
float32 scan, and widens the first stage when it cannot (see
``_two_stage_search``). The float16 copies are built when first needed.

An index is saved as a folder: ``corpus.jsonl`` (the corpus it was built
over), ``exact.faiss``, ``approx.faiss`` (if any) and ``meta.json``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from proofsmith.formats.json_files import InputFileError, read_json, write_json
from proofsmith.retrieval.corpus import Corpus, CorpusError
from proofsmith.retrieval.errors import RetrievalInputError
from proofsmith.retrieval.settings import RetrievalSettings

APPROX_KINDS = ("auto", "hnsw", "ivf", "none")
FORMAT_VERSION = 1


class PremiseIndexError(RetrievalInputError):
    """An index folder that is missing, incomplete or does not match its corpus."""


def _faiss():
    import faiss

    return faiss


def _bitmap_selector(mask: np.ndarray):
    """An IDSelectorBitmap over ``mask``; the packed bits must outlive the search."""
    faiss = _faiss()
    bits = np.packbits(mask, bitorder="little")
    return faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits)), bits


def search_few_queries(index: Any, queries: np.ndarray, k: int, params: Any) -> tuple[np.ndarray, np.ndarray]:
    """Search on one OpenMP thread when there are fewer queries than threads.

    FAISS's scalar-quantizer scan splits a single query across threads; on
    this 2-core machine under load that made a query 2.7x slower (2.09 ms
    against 0.77 ms). The thread count is process-wide, so it is restored.
    """
    faiss = _faiss()
    threads = faiss.omp_get_max_threads()
    if len(queries) >= threads:
        return index.search(queries, k, params=params)
    faiss.omp_set_num_threads(1)
    try:
        return index.search(queries, k, params=params)
    finally:
        faiss.omp_set_num_threads(threads)


def build_ivf(vectors: np.ndarray, train_per_list: int = 256, seed: int = 0) -> Any:
    """An IVF index (inner product) over `vectors`: about 4 sqrt(n) lists, trained by k-means on a
    seeded sample of `train_per_list` rows a list (FAISS uses at most 256), then every row added."""
    faiss = _faiss()
    n, dim = vectors.shape
    nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    index.train(vectors[rng.choice(n, size=min(n, max(train_per_list * nlist, 39 * nlist)), replace=False)])
    index.add(vectors)
    return index


def ivf_search(index: Any, queries: np.ndarray, k: int, nprobe: int, selector: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """`index` (from build_ivf) searched with `nprobe` lists and an optional IDSelector, on one
    OpenMP thread for fewer queries than threads (search_few_queries)."""
    faiss = _faiss()
    # faiss's SWIG classes take their fields as keywords at run time; their Python signatures do not say so
    params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)  # pyright: ignore[reportCallIssue]
    return search_few_queries(index, queries, k, params)


class HalfPrecisionStage:
    """The first stage of exact search: float16 copies scanned by FAISS, float32 vectors to re-score."""

    def __init__(self, index: Any, vectors: np.ndarray, e_max: float) -> None:
        self.index = index
        self.vectors = vectors
        self.e_max = e_max

    @classmethod
    def of(cls, vectors: np.ndarray) -> HalfPrecisionStage:
        faiss = _faiss()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = faiss.IndexScalarQuantizer(vectors.shape[1], faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.add(vectors)
        # Measured from what FAISS decodes, so the bound holds for its rounding, whatever it is.
        decoded = index.reconstruct_n(0, index.ntotal)
        e_max = float(np.abs(decoded - vectors).max()) if len(vectors) else 0.0
        return cls(index, vectors, e_max)


class PremiseIndex:
    def __init__(
        self,
        corpus: Corpus,
        exact: Any,
        approx: Any | None,
        approx_kind: str,
        meta: dict[str, Any],
        settings: RetrievalSettings | None = None,
    ) -> None:
        self.corpus = corpus
        self.exact = exact
        self.approx = approx
        self.approx_kind = approx_kind
        self.meta = meta
        self.settings = settings or RetrievalSettings()
        self._half: HalfPrecisionStage | None = None
        # How many exact searches needed a wider first stage (see _two_stage_search).
        self.widenings = 0

    @property
    def dim(self) -> int:
        return int(self.exact.d)

    # ------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        corpus: Corpus,
        embeddings: np.ndarray,
        approx: str = "auto",
        encoder_meta: dict[str, Any] | None = None,
        settings: RetrievalSettings | None = None,
    ) -> PremiseIndex:
        faiss = _faiss()
        settings = settings or RetrievalSettings()
        if approx not in APPROX_KINDS:
            raise PremiseIndexError(f"unknown approximate index {approx!r}: expected one of {APPROX_KINDS}")
        vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(corpus):
            raise PremiseIndexError(
                f"embeddings have shape {vectors.shape}, expected ({len(corpus)}, dim)"
            )
        n, dim = vectors.shape
        exact = faiss.IndexFlatIP(dim)
        exact.add(vectors)
        kind = approx
        if kind == "auto":
            kind = "hnsw" if n <= settings.hnsw_max_premises else "ivf"
        index = None
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.add(vectors)
        elif kind == "ivf":
            index = build_ivf(vectors)
        meta = {
            "format": FORMAT_VERSION,
            "corpus_hash": corpus.content_hash,
            "premises": n,
            "dim": dim,
            "approx": kind,
            "encoder": encoder_meta or {},
        }
        return cls(corpus, exact, index, kind, meta, settings)

    # ------------------------------------------------------------- search

    def search(
        self,
        queries: np.ndarray,
        k: int,
        accessible: np.ndarray | None = None,
        approximate: bool = False,
        two_stage: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k premise ids and scores for each query row, best first.

        ``accessible`` is a boolean mask over premise ids shared by all rows
        (None: the whole corpus). Rows are padded with id -1 and score -inf
        when fewer than k premises are accessible. The exact search runs in
        two stages (half precision, then float32 with a proven bound);
        ``two_stage=False`` scans the float32 vectors instead (the reference).
        """
        faiss = _faiss()
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if q.shape[1] != self.dim:
            raise PremiseIndexError(f"query vectors have dimension {q.shape[1]}, the index has {self.dim}")
        if k < 1:
            raise PremiseIndexError(f"k must be at least 1, got {k}")
        n = len(self.corpus)
        available = n if accessible is None else int(np.count_nonzero(accessible))
        want = min(k, available)
        scores = np.full((len(q), k), -np.inf, dtype=np.float32)
        ids = np.full((len(q), k), -1, dtype=np.int64)
        if want == 0 or len(q) == 0:
            return scores, ids

        selector = bits = None
        if accessible is not None and available < n:
            if len(accessible) != n:
                raise PremiseIndexError(f"accessibility mask has {len(accessible)} entries, corpus has {n}")
            selector, bits = _bitmap_selector(accessible)

        use_approx = (
            approximate
            and self.approx is not None
            and available >= self.settings.approx_min_fraction * n
        )
        todo = np.arange(len(q))
        if use_approx and self.approx is not None:
            # faiss's SWIG classes take their fields as keywords at run time; their Python signatures do not say so
            if self.approx_kind == "hnsw":
                params = faiss.SearchParametersHNSW(  # pyright: ignore[reportAttributeAccessIssue]
                    sel=selector, efSearch=max(self.settings.hnsw_ef_search, want)
                )
                d, i = self.approx.search(q, want, params=params)
            else:
                d, i = ivf_search(self.approx, q, want, self.settings.ivf_nprobe, selector)
            complete = (i >= 0).all(axis=1)
            scores[complete, :want] = d[complete]
            ids[complete, :want] = i[complete]
            todo = np.flatnonzero(~complete)
        if len(todo) and two_stage:
            todo = self._two_stage_search(q, todo, want, available, selector, scores, ids)
        if len(todo):
            params = faiss.SearchParameters(sel=selector) if selector is not None else None  # pyright: ignore[reportCallIssue]
            d, i = self.exact.search(q[todo], want, params=params)
            scores[todo, :want] = d
            ids[todo, :want] = i
        del bits  # kept alive until here: the selector reads it during search
        return scores, ids

    def _two_stage_search(self, q, rows, want, available, selector, scores, ids) -> np.ndarray:
        """Exact top-`want` for `rows` by the half-precision stage; returns the rows it left to the float32 scan.

        Every stored component is within ``e_max`` of its float16 copy, so a
        float16 score is within ``delta = ||q||_1 * e_max`` of the exact one.
        The first stage returns the ``width`` best by float16 score; any
        premise it left out scores at most ``s16[width-1] + delta`` exactly.
        When that is below the k-th best exact score among the candidates,
        no outsider can enter the top k: the answer is exact. Otherwise the
        width doubles; once it would cover every accessible premise the row
        goes to the float32 scan.
        """
        faiss = _faiss()
        half = self._half_stage()
        params = faiss.SearchParameters(sel=selector) if selector is not None else None  # pyright: ignore[reportCallIssue]
        width = max(4 * want, self.settings.exact_first_stage)
        while len(rows) and width < available:
            d16, cand = search_few_queries(half.index, q[rows], width, params)
            unsure = []
            for row, row_d16, row_ids in zip(rows, d16, cand):
                found = row_ids[row_ids >= 0]
                exact = half.vectors[found] @ q[row]
                best = np.lexsort((found, -exact))[:want]  # score descending, then id
                delta = float(np.abs(q[row]).sum()) * half.e_max + 1e-5  # + float32 rounding of both sums
                complete = len(found) < width  # fewer came back than asked: every accessible one did
                if complete or row_d16[width - 1] + delta < exact[best[-1]]:
                    scores[row, :want] = exact[best]
                    ids[row, :want] = found[best]
                else:
                    unsure.append(row)
            rows = np.asarray(unsure, dtype=np.int64)
            if len(rows):
                self.widenings += len(rows)
                width *= 2
        return rows

    def _half_stage(self) -> HalfPrecisionStage:
        if self._half is None:
            self._half = HalfPrecisionStage.of(self.embeddings())
        return self._half

    # ------------------------------------------------------------ storage

    def save(self, out_dir: str | Path) -> Path:
        faiss = _faiss()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "meta.json").unlink(missing_ok=True)  # written last: its presence marks completion
        self.corpus.save(out / "corpus.jsonl")
        faiss.write_index(self.exact, str(out / "exact.faiss"))
        approx_path = out / "approx.faiss"
        if self.approx is not None:
            faiss.write_index(self.approx, str(approx_path))
        else:
            approx_path.unlink(missing_ok=True)
        write_json(out / "meta.json", self.meta, indent=2)
        return out

    @classmethod
    def load(cls, index_dir: str | Path, settings: RetrievalSettings | None = None) -> PremiseIndex:
        faiss = _faiss()
        folder = Path(index_dir)
        meta_path = folder / "meta.json"
        if not meta_path.is_file():
            raise PremiseIndexError(f"{folder}: not a premise index (no meta.json; build one with `proofsmith index build`)")
        try:
            meta = read_json(meta_path)
        except InputFileError as exc:
            raise PremiseIndexError(str(exc)) from None
        if meta.get("format") != FORMAT_VERSION:
            raise PremiseIndexError(f"{meta_path}: index format {meta.get('format')!r}, expected {FORMAT_VERSION}")
        try:
            # what the index was built on, admitted premises included if they were asked for then
            corpus = Corpus.load(folder / "corpus.jsonl", include_admitted=True)
        except CorpusError as exc:
            raise PremiseIndexError(str(exc)) from None
        if corpus.content_hash != meta.get("corpus_hash"):
            raise PremiseIndexError(f"{folder}: corpus.jsonl does not match the corpus the index was built on")
        exact = faiss.read_index(str(folder / "exact.faiss"))
        if exact.ntotal != len(corpus):
            raise PremiseIndexError(f"{folder}: exact.faiss has {exact.ntotal} vectors, corpus has {len(corpus)} premises")
        approx = None
        kind = meta.get("approx", "none")
        if kind != "none":
            approx_path = folder / "approx.faiss"
            if not approx_path.is_file():
                raise PremiseIndexError(f"{folder}: meta.json names a {kind} index but approx.faiss is missing")
            approx = faiss.read_index(str(approx_path))
        return cls(corpus, exact, approx, kind, meta, settings)

    def embeddings(self) -> np.ndarray:
        """The premise vectors, in corpus order (read back from the exact index)."""
        return self.exact.reconstruct_n(0, self.exact.ntotal)
