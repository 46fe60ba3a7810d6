"""A tactic memory (Tactician-style k-nearest neighbours) over proof states.

Every (state before, tactic) pair of a traced library's training split, and
every proof step that search finds later, is embedded into an exact FAISS
inner-product index over unit vectors (cosine similarity): by default with
Tactician-style hashed symbol features (retrieval.feature_encoder: the
stdlib's 70k states in about a minute on one core), or with the retrieval
encoder (`memory_encoder("minilm")`, all-MiniLM-L6-v2: over an hour for the
same states on two busy cores). The hashed features are sparse (about 7%
of dimensions set), so their exact search reads only the query's dimensions
(retrieval.sparse_index: the same top k as FAISS's flat scan, which reads
every float; 25-55 ms a query over the stdlib's 66k steps on two busy cores).
A memory grown past APPROX_ROWS rows (mutants, what iterate adds) is asked through
an approximate IVF index over the same vectors instead (figures beside the constant).
For a goal, the tactics of the nearest remembered states are candidates
(prover.generators.tactic_memory), and the whole proofs of the nearest
states' theorems are examples for a prompt (`similar_proofs`, as in Rango).

What is embedded is the first goal, its conclusion ahead of its hypotheses
(`state_key`): the MiniLM encoder reads only the first tokens (128; the
median traced stdlib state has about 80) and the feature encoder weighs the
conclusion higher, so a long context must not push out what the goal is about.

No leaks: `from_trace` reads `<trace>/<strategy>/train.json` and nothing
else, so evaluating `<strategy>/test` never finds a test theorem's human
proof; what `add_proof` adds during a run is what the prover itself proved.
With a mutant corpus (`open_memory(..., mutants=CORPUS)`, prover.memory_mutants) the val and
test parts are read too, only to leave out the mutants that restate one of their theorems.

The chronological protocol (`protocol="chronological"`, Tactician's and
CoqHammer's): the memory holds every traced theorem of the library (train,
val and test), its steps stored in library order (prover.library_order), and
a query for a target theorem searches only the rows of the theorems before
it (`rows_before`; an `IDSelectorRange` inside FAISS, or the first rows of the
sparse scan, so the memory is built once, not once per target). The human proofs of earlier test theorems are
then seen, as in the library; nothing after the target is.

A built memory is cached on disk (`default_cache_dir()`), keyed by the
train file's content hash and the encoder's weights, so the second
`from_trace` of the same trace only reads files (a process that finds another
building the same entry waits for it). The memory is safe to share
between threads: searching and adding take one lock, so a proof one eval
worker finds helps the next theorem of another (the online effect).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import json
import os
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from proofsmith.prover.hypothesis_renaming import GOAL_SEPARATOR
from proofsmith.prover.library_order import LibraryOrder, LibraryOrderError
from proofsmith.prover.proof_examples import ProofExample
from proofsmith.retrieval.index import build_ivf, ivf_search, search_few_queries
from proofsmith.retrieval.sparse_index import SparseInnerProductIndex, is_sparse

__all__ = ["MemoryHit", "ProofExample", "TacticMemory", "TacticMemoryError", "memory_encoder", "open_memory",
           "shared_memory", "state_key"]

FORMAT = "proofsmith-tactic-memory"
# The memory's default encoder reads at most this many tokens of a state key (the conclusion
# and the first hypotheses): 256 doubled the embedding time of the stdlib's long states.
MEMORY_ENCODER_MAX_TOKENS = 128
FORMAT_VERSION = 1
STRATEGIES = ("random", "novel_premises")
# What a memory built from a trace holds: a strategy's train part (LeanDojo's protocols), or the whole
# library in library order, each query seeing only the theorems before its target (chronological).
PROTOCOLS = ("random", "chronological")
MEMORY_ENCODERS = ("features", "minilm")
# From this many rows on, a query is answered by an approximate index (IVF over the same vectors,
# built at the first query past the size; rows added later go into it too). bench/memory_scale.py,
# 1x to 10x the stdlib's random/train rows (66k to 659k), load 3-5: the exact sparse scan took
# 2.8 / 6.1 / 19.7 / 28.1 ms a query at the median and 12 / 25 / 62 / 103 ms at the 95th percentile
# (an expansion takes about 180 ms in all: docs/internals.md), IVF with 32 lists probed 0.6 to 1.6 ms; IVF
# returned 88% of the exact top 32 over the stdlib's own rows (1x), a loss the votes would feel, so
# only a memory grown past 250k rows (3.8x) pays it.
APPROX_ROWS = 250_000
APPROX_NPROBE = 32
# rows a list the IVF's k-means trains on (a 10x memory: 130k rows, 2.5 minutes on two busy cores)
APPROX_TRAIN_PER_LIST = 40
DEFAULT_MEMORY_ENCODER = "features"


class TacticMemoryError(ValueError):
    """A trace folder, split or saved memory folder that cannot be read; the message names it."""


@dataclass(frozen=True)
class MemoryHit:
    """A remembered step: its similarity to the query (cosine, in [-1, 1]), state, tactic and theorem."""

    score: float
    state: str
    tactic: str
    theorem: str


def state_key(state: str) -> str:
    """The text embedded for a state: its first goal, conclusion first, then the hypotheses."""
    first = state.split("\n\n", 1)[0].strip()
    if GOAL_SEPARATOR not in first:
        return first
    context, target = first.split(GOAL_SEPARATOR, 1)
    return f"{target.strip()}\n{context.strip()}"


def default_cache_dir() -> Path:
    """`tactic_memory/` in proofsmith's cache folder (~/.cache/proofsmith; PROOFSMITH_CACHE_DIR moves it)."""
    from proofsmith.prover.model_store import cache_dir

    return cache_dir() / "tactic_memory"


def memory_encoder(name: str = DEFAULT_MEMORY_ENCODER):
    """An encoder by name: "features" (the default: Tactician-style hashed symbol features,
    retrieval.feature_encoder; the stdlib's 70k states in about a minute) or "minilm" (the
    retrieval encoder, all-MiniLM-L6-v2, reading MEMORY_ENCODER_MAX_TOKENS tokens; over an
    hour for the stdlib on two busy cores). A saved memory records its encoder's name."""
    if name == "features" or name.startswith("features-"):
        from proofsmith.retrieval.feature_encoder import DEFAULT_DIM, FeatureEncoder

        dim = name.split("-", 1)[1] if "-" in name else str(DEFAULT_DIM)
        if not dim.isdigit() or int(dim) < 16:
            raise TacticMemoryError(f"tactic memory: encoder {name!r}: the dimension after 'features-' must be "
                                    "a whole number of at least 16")
        return FeatureEncoder(int(dim))
    if name in ("minilm", "all-MiniLM-L6-v2"):
        from proofsmith.retrieval.encoder import TextEncoder

        return TextEncoder(max_length=MEMORY_ENCODER_MAX_TOKENS)
    raise TacticMemoryError(f"tactic memory: unknown encoder {name!r}; choose one of {', '.join(MEMORY_ENCODERS)}")


def _encode_keys(encoder, states: Sequence[str], progress: str | None = None) -> np.ndarray:
    """The embedding of each state's key, each distinct key encoded once."""
    keys = [state_key(s) for s in states]
    distinct = list(dict.fromkeys(keys))
    vectors = encoder.encode(distinct, progress=progress)
    row = {key: i for i, key in enumerate(distinct)}
    return vectors[[row[key] for key in keys]] if keys else vectors


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def train_file(trace_dir: str | Path, split: str) -> Path:
    """`<trace_dir>/<split>/train.json`, or TacticMemoryError naming what is wrong."""
    root = Path(trace_dir)
    if split not in STRATEGIES:
        raise TacticMemoryError(f"tactic memory: unknown split {split!r} for trace {str(root)!r}; "
                                f"choose one of {', '.join(STRATEGIES)} (its train part is what the memory holds)")
    if not root.is_dir():
        raise TacticMemoryError(f"tactic memory: trace folder {str(root)!r} does not exist "
                                "(expected a folder written by `proofsmith trace`)")
    path = root / split / "train.json"
    if not path.is_file():
        raise TacticMemoryError(f"tactic memory: {str(path)!r} does not exist "
                                "(expected a folder written by `proofsmith trace`, with random/ and novel_premises/)")
    return path


def _chronological_files(trace_dir: str | Path, split: str) -> list[Path]:
    """The files a chronological memory reads: corpus.jsonl (the file order) and every part of `split`."""
    train = train_file(trace_dir, split)
    files = [Path(trace_dir) / "corpus.jsonl", train] + [train.parent / f"{part}.json" for part in ("val", "test")]
    for path in files:
        if not path.is_file():
            raise TacticMemoryError(f"tactic memory: {str(path)!r} does not exist; the chronological protocol reads "
                                    "the whole library (corpus.jsonl and the train, val and test parts)")
    return files


class TacticMemory:
    """Remembered (state, tactic, theorem) steps, their embeddings in FAISS, and the proofs they form."""

    def __init__(self, encoder=None, source: dict[str, Any] | None = None):
        import faiss

        if encoder is None:
            encoder = memory_encoder()
        self.encoder = encoder
        self.source = dict(source or {})
        self._states: list[str] = []
        self._tactics: list[str] = []
        self._theorems: list[str] = []
        # theorem -> the entry ids of its proof, in order
        self._proofs: dict[str, list[int]] = {}
        # state key -> a row holding its embedding: a query the memory has seen is not encoded again
        self._row_of_key: dict[str, int] = {}
        self._index = faiss.IndexFlatIP(encoder.dim)
        # the same vectors column by column, searched instead of the flat scan where they are sparse
        # (the hashed features: ~7% of dimensions; retrieval.sparse_index); decided by the first rows
        self._sparse: SparseInnerProductIndex | None = None
        # past APPROX_ROWS rows: the IVF index queries are answered from (see _approximate)
        self._approx: Any | None = None
        self._lock = threading.RLock()
        # what learning online added (after building or loading)
        self.learned = 0
        # chronological memories: the library order, and for each rank the rows of the theorems before it
        self.order: LibraryOrder | None = None
        self._rows_before_rank: list[int] = []

    @property
    def chronological(self) -> bool:
        return self.order is not None

    def rows_before(self, theorem: str) -> int:
        """Chronological memory: how many rows (in library order) belong to theorems before `theorem`;
        TacticMemoryError for a theorem the library does not hold."""
        if self.order is None:
            raise TacticMemoryError("tactic memory: rows_before needs a chronological memory")
        try:
            return self._rows_before_rank[self.order.rank(theorem)]
        except LibraryOrderError as exc:
            raise TacticMemoryError(f"tactic memory (chronological protocol): {exc}") from None

    # -- building ---------------------------------------------------------------

    @classmethod
    def from_trace(
        cls,
        trace_dir: str | Path,
        split: str = "random",
        encoder=None,
        cache_dir: str | Path | None = None,
        progress: bool = False,
        protocol: str = "random",
    ) -> TacticMemory:
        """The memory of `<trace_dir>/<split>/train.json` (ONLY the train part of that strategy), or
        with `protocol="chronological"` of the whole library in library order (module docstring).

        Read from `cache_dir` (default: `default_cache_dir()`) when built before
        from the same files with the same encoder; built and cached otherwise.
        """
        if protocol not in PROTOCOLS:
            raise TacticMemoryError(f"tactic memory: unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
        path = train_file(trace_dir, split)
        files = [path] if protocol == "random" else _chronological_files(trace_dir, split)
        if encoder is None:
            encoder = memory_encoder()
        digest = file_sha256(path) if protocol == "random" else hashlib.sha256(
            ("chronological:" + ",".join(file_sha256(f) for f in files)).encode()).hexdigest()
        return cls.cached(digest, encoder, cache_dir,
                          lambda folder: cls._build(files, trace_dir, split, encoder, folder, progress, protocol))

    @classmethod
    def cached(cls, digest: str, encoder, cache_dir: str | Path | None,
               build: Callable[[Path], TacticMemory]) -> TacticMemory:
        """The memory saved in `cache_dir` (default: `default_cache_dir()`) under `digest` (the inputs' hash)
        and the encoder, or the one `build(folder)` builds and saves into that folder."""
        key = f"{digest[:20]}-{encoder.fingerprint()[:12]}"
        cached = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        cached = cached / key
        cached.parent.mkdir(parents=True, exist_ok=True)
        # One process builds, the others wait for its cache entry rather than build it again.
        with open(cached.parent / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (cached / "meta.json").is_file():
                try:
                    return cls.load(cached, encoder=encoder)
                except TacticMemoryError:
                    pass  # a damaged cache entry is rebuilt below
            return build(cached)

    @classmethod
    def _build(cls, files: list[Path], trace_dir: str | Path, split: str, encoder, cached: Path, progress: bool,
               protocol: str = "random") -> TacticMemory:
        from proofsmith.formats.leandojo import read_split

        started = time.perf_counter()
        source = {"trace": str(Path(trace_dir).resolve()), "split": split, "protocol": protocol}
        source["train_file_sha256" if protocol == "random" else "library_sha256"] = cached.name.split("-")[0]
        memory = cls(encoder, source=source)
        if protocol == "random":
            theorems = read_split(files[0])
        else:
            library = [t for path in files[1:] for t in read_split(path)]
            try:
                memory.order = LibraryOrder.of(files[0], library)
            except LibraryOrderError as exc:
                raise TacticMemoryError(f"tactic memory: {exc}") from None
            first = {}
            for theorem in library:
                first.setdefault(theorem.full_name, theorem)
            theorems = [first[name] for name in memory.order.names]
        steps: list[tuple[str, str, str]] = []
        proofs: list[tuple[str, int, int]] = []
        for theorem in theorems:
            memory._rows_before_rank.append(len(steps))
            usable = [(t.state_before, t.tactic.strip()) for t in theorem.traced_tactics
                      if t.state_before.strip() and t.tactic.strip()]
            if usable:
                proofs.append((theorem.full_name, len(steps), len(usable)))
                steps.extend((state, tactic, theorem.full_name) for state, tactic in usable)
        memory._rows_before_rank.append(len(steps))
        if memory.order is None:
            memory._rows_before_rank = []
        vectors = _encode_keys(encoder, [s for s, _, _ in steps], "embedding states" if progress else None)
        memory._append(steps, vectors)
        for theorem, start, count in proofs:
            memory._proofs[theorem] = list(range(start, start + count))
        memory.source["build_s"] = round(time.perf_counter() - started, 1)
        memory.save(cached)
        return memory

    def add_proof(self, theorem: str, steps: Sequence[tuple[str, str]]) -> None:
        """Remember a proof found: its (state before, tactic) steps, in order. Safe from any thread."""
        self.add_proofs([(theorem, steps)])

    def add_proofs(self, proofs: Sequence[tuple[str, Sequence[tuple[str, str]]]], learned: bool = True,
                   progress: str | None = None) -> int:
        """Remember proofs, each a theorem and its (state before, tactic) steps in order, embedded in one
        batch; returns the steps added. `learned`: they count as learned online (`self.learned`: what
        search found), not as part of what the memory was built from (a mutant corpus). Safe from any thread."""
        usable = [(theorem, [(state, tactic.strip()) for state, tactic in steps if state.strip() and tactic.strip()])
                  for theorem, steps in proofs]
        usable = [(theorem, steps) for theorem, steps in usable if steps]
        if not usable:
            return 0
        vectors = _encode_keys(self.encoder, [s for _, steps in usable for s, _ in steps], progress)
        added = sum(len(steps) for _, steps in usable)
        with self._lock:
            start = len(self._states)
            self._append([(s, t, theorem) for theorem, steps in usable for s, t in steps], vectors)
            for theorem, steps in usable:
                self._proofs[theorem] = list(range(start, start + len(steps)))
                start += len(steps)
            if learned:
                self.learned += added
        return added

    def _append(self, steps: Sequence[tuple[str, str, str]], vectors: np.ndarray) -> None:
        with self._lock:
            for state, tactic, theorem in steps:
                self._row_of_key.setdefault(state_key(state), len(self._states))
                self._states.append(state)
                self._tactics.append(tactic)
                self._theorems.append(theorem)
            if len(vectors):
                vectors = np.ascontiguousarray(vectors, dtype=np.float32)
                if self._index.ntotal == 0 and is_sparse(vectors):
                    self._sparse = SparseInnerProductIndex(self.encoder.dim)
                self._index.add(vectors)
                if self._sparse is not None:
                    self._sparse.add(vectors)
                if self._approx is not None:
                    self._approx.add(vectors)

    # -- asking -----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._states)

    def theorems(self, rows: int | None = None) -> set[str]:
        """The theorems whose steps the memory holds (in its first `rows` rows, when given)."""
        with self._lock:
            return set(self._theorems if rows is None else self._theorems[:rows])

    def states(self) -> set[str]:
        with self._lock:
            return set(self._states)

    def nearest(self, state: str, k: int, rows: int | None = None) -> list[MemoryHit]:
        """The k remembered steps whose states are closest to `state`, most similar first; with
        `rows`, among the first `rows` rows only (a chronological memory: `rows_before(target)`)."""
        return self.nearest_many([state], k, rows)[0]

    def nearest_many(self, states: Sequence[str], k: int, rows: int | None = None) -> list[list[MemoryHit]]:
        """`nearest` for several states at once (one encoder batch, one FAISS search)."""
        if not states:
            return []
        queries = self._query_vectors(states)
        with self._lock:
            visible = len(self._states) if rows is None else min(rows, len(self._states))
            n = min(k, visible)
            if n <= 0:
                return [[] for _ in states]
            approx = self._approximate()
            if approx is not None:
                scores, ids = ivf_search(approx, queries, n, APPROX_NPROBE, self._row_limit(visible))
                if (ids >= 0).all():  # a selective row limit can leave the probed lists short: exact then
                    return self._hits(scores, ids)
            if self._sparse is not None:
                scores, ids = self._sparse.search(queries, n, visible)
                return self._hits(scores, ids)
            limit = self._row_limit(visible)  # referenced here until the search returns
            params = importlib.import_module("faiss").SearchParameters(sel=limit) if limit is not None else None
            # one OpenMP thread for a few queries: FAISS's own split of a single query across
            # threads ran 1.9x slower on two busy cores (150 ms against 79 ms over 70k states)
            scores, ids = search_few_queries(self._index, queries, n, params)
            return self._hits(scores, ids)

    def _row_limit(self, visible: int) -> Any | None:
        """A FAISS selector of the first `visible` rows, None when they are all the rows."""
        if visible >= len(self._states):
            return None
        faiss: Any = importlib.import_module("faiss")  # its SWIG signatures are not typed
        return faiss.IDSelectorRange(0, visible)

    def _approximate(self) -> Any | None:
        """The IVF index of a memory of at least APPROX_ROWS rows (built here the first time it is
        asked for, its build recorded in `source["approximate_index"]`); None below that size."""
        if self._approx is None and len(self._states) >= APPROX_ROWS:
            started = time.perf_counter()
            approx = build_ivf(self._index.reconstruct_n(0, self._index.ntotal), APPROX_TRAIN_PER_LIST)
            self._approx = approx
            self.source["approximate_index"] = {
                "kind": "ivf", "lists": int(approx.nlist), "nprobe": APPROX_NPROBE,
                "rows_at_build": len(self._states), "build_s": round(time.perf_counter() - started, 1)}
        return self._approx

    def _hits(self, scores: np.ndarray, ids: np.ndarray) -> list[list[MemoryHit]]:
        return [
            [MemoryHit(float(s), self._states[i], self._tactics[i], self._theorems[i])
             for s, i in zip(row_scores, row_ids) if i >= 0]
            for row_scores, row_ids in zip(scores, ids)
        ]

    def _query_vectors(self, states: Sequence[str]) -> np.ndarray:
        """The embeddings of the states' keys: stored ones where the memory holds the key, encoded otherwise."""
        keys = [state_key(s) for s in states]
        with self._lock:
            rows = [self._row_of_key.get(key) for key in keys]
            known = {i: self._index.reconstruct(row) for i, row in enumerate(rows) if row is not None}
        unknown = [i for i in range(len(states)) if i not in known]
        out = np.zeros((len(states), self.encoder.dim), dtype=np.float32)
        if unknown:
            out[unknown] = _encode_keys(self.encoder, [states[i] for i in unknown])
        for i, vector in known.items():
            out[i] = vector
        return out

    def similar_proofs(self, state: str, k: int, exclude: Collection[str] = (), rows: int | None = None) -> list[ProofExample]:
        """The whole proofs of the theorems of the states nearest `state`: k distinct theorems, the
        nearest first. `exclude` names theorems to leave out (a training example's own); `rows`
        as in `nearest`."""
        if k <= 0:
            return []
        found: list[ProofExample] = []
        seen: set[str] = set(exclude)
        fetch = max(4 * k, 16)
        while True:
            hits = self.nearest(state, fetch, rows)
            for hit in hits:
                if hit.theorem in seen:
                    continue
                seen.add(hit.theorem)
                example = self.proof(hit.theorem)
                if example is not None:
                    found.append(example)
                if len(found) == k:
                    return found
            if len(hits) < fetch:
                return found
            fetch *= 4
            found, seen = [], set(exclude)

    def proof(self, theorem: str) -> ProofExample | None:
        with self._lock:
            ids = self._proofs.get(theorem)
            if not ids:
                return None
            return ProofExample(theorem, self._states[ids[0]], tuple(self._tactics[i] for i in ids))

    # -- files ------------------------------------------------------------------

    def save(self, out_dir: str | Path) -> Path:
        """Write `meta.json`, `steps.jsonl` and `vectors.npy` into `out_dir` (atomically per file)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with self._lock:
            vectors = self._index.reconstruct_n(0, self._index.ntotal) if self._index.ntotal else np.zeros(
                (0, self.encoder.dim), dtype=np.float32)
            steps = list(zip(self._states, self._tactics, self._theorems))
            proofs = {t: ids for t, ids in self._proofs.items()}
        suffix = f".{os.getpid()}.{threading.get_ident()}.tmp"
        tmp = out / f"vectors{suffix}.npy"
        np.save(tmp, vectors)
        os.replace(tmp, out / "vectors.npy")
        tmp = out / f"steps.jsonl{suffix}"
        with open(tmp, "w", encoding="utf-8") as f:
            for state, tactic, theorem in steps:
                f.write(json.dumps({"state": state, "tactic": tactic, "theorem": theorem}, ensure_ascii=False) + "\n")
        os.replace(tmp, out / "steps.jsonl")
        meta = {
            "format": FORMAT, "version": FORMAT_VERSION, "encoder": self.encoder.name,
            "encoder_fingerprint": self.encoder.fingerprint(), "steps": len(steps), "source": self.source,
            "proofs": proofs,
        }
        if self.order is not None:
            meta["library_order"] = {"files": list(self.order.files), "names": list(self.order.names),
                                     "keys": [list(k) for k in self.order.keys], "rows_before": self._rows_before_rank}
        tmp = out / f"meta.json{suffix}"
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, out / "meta.json")  # last: a folder with meta.json is complete
        return out

    @classmethod
    def load(cls, memory_dir: str | Path, encoder=None) -> TacticMemory:
        """A memory written by `save`; TacticMemoryError naming the folder when it is not one."""
        root = Path(memory_dir)
        meta_path = root / "meta.json"
        if not meta_path.is_file():
            raise TacticMemoryError(f"tactic memory: {str(root)!r} is not a saved tactic memory (no meta.json)")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TacticMemoryError(f"tactic memory: {str(meta_path)!r} cannot be read: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
            raise TacticMemoryError(f"tactic memory: {str(meta_path)!r} is not a version-{FORMAT_VERSION} tactic memory")
        if encoder is None:
            encoder = memory_encoder(str(meta.get("encoder", DEFAULT_MEMORY_ENCODER)))
        if encoder.fingerprint() != meta.get("encoder_fingerprint"):
            raise TacticMemoryError(f"tactic memory: {str(root)!r} was embedded with another encoder "
                                    f"({meta.get('encoder')!r}) than {encoder.name!r}")
        try:
            vectors = np.load(root / "vectors.npy")
            with open(root / "steps.jsonl", encoding="utf-8") as f:
                steps = [json.loads(line) for line in f]
        except (OSError, ValueError) as exc:
            raise TacticMemoryError(f"tactic memory: {str(root)!r} is incomplete: {exc}") from None
        if vectors.shape != (len(steps), encoder.dim) or len(steps) != meta.get("steps"):
            raise TacticMemoryError(f"tactic memory: {str(root)!r} holds {len(steps)} steps but vectors of shape "
                                    f"{vectors.shape}")
        memory = cls(encoder, source=meta.get("source"))
        memory._append([(s["state"], s["tactic"], s["theorem"]) for s in steps], vectors)
        memory._proofs = {t: list(ids) for t, ids in meta.get("proofs", {}).items()}
        order = meta.get("library_order")
        if order is not None:
            try:
                memory.order = LibraryOrder(tuple(order["files"]), tuple(order["names"]),
                                            tuple(tuple(k) for k in order["keys"]))
                memory._rows_before_rank = [int(r) for r in order["rows_before"]]
            except (KeyError, TypeError, ValueError) as exc:
                raise TacticMemoryError(f"tactic memory: {str(meta_path)!r} has a damaged library_order: {exc}") from None
            if len(memory._rows_before_rank) != len(memory.order) + 1:
                raise TacticMemoryError(f"tactic memory: {str(meta_path)!r} has a library_order of "
                                        f"{len(memory.order)} theorems but {len(memory._rows_before_rank)} row counts")
        return memory


_SHARED: dict[tuple[str, str, bool, str, str], TacticMemory] = {}
_SHARED_LOCK = threading.Lock()


def open_memory(source: str | Path, split: str = "random", protocol: str = "random",
                mutants: str | Path | None = None) -> TacticMemory:
    """A saved memory folder (meta.json), or the memory of a trace folder's `split` strategy
    (under `protocol`, see TacticMemory.from_trace); with `mutants` (a mutant corpus), that train
    part's memory plus the mutants prover.memory_mutants keeps."""
    root = Path(source)
    if mutants is not None:
        from proofsmith.prover.memory_mutants import memory_with_mutants  # it builds on this module

        if protocol != "random":
            raise TacticMemoryError(f"tactic memory: mutants are added to a strategy's train part (the random "
                                    f"protocol), not to the {protocol} protocol's library order")
        # the same class, which the type checker knows under its installed name there
        return cast(TacticMemory, memory_with_mutants(root, split, Path(mutants)))
    if (root / "meta.json").is_file() and not (root / "random").is_dir():
        memory = TacticMemory.load(root)
        if (protocol == "chronological") != memory.chronological:
            raise TacticMemoryError(f"tactic memory: {str(root)!r} was not saved for the {protocol} protocol")
        return memory
    return TacticMemory.from_trace(root, split, protocol=protocol)


def shared_memory(source: str | Path, split: str = "random", online: bool = True,
                  protocol: str = "random", mutants: str | Path | None = None) -> TacticMemory:
    """`open_memory`, opened once per process: every prover built with the same source, split,
    online flag, protocol and mutant corpus (the eval runner's worker threads) shares one memory,
    so what one learns the others know. An online and an offline prover never share (the offline
    one must stay as built). A corpus is known by its content: a changed one is another memory."""
    corpus = Path(mutants) if mutants is not None else None
    key = (str(Path(source).resolve()), split, online, protocol,
           f"{corpus.resolve()}:{file_sha256(corpus)}" if corpus is not None and corpus.is_file() else str(corpus or ""))
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = open_memory(source, split, protocol, mutants)
        return _SHARED[key]

