"""On-disk cache of corpus embeddings, keyed by corpus content and encoder weights."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from proofsmith.retrieval.corpus import Corpus
from proofsmith.retrieval.encoder import TextEncoder


def cache_key(corpus: Corpus, encoder: TextEncoder) -> str:
    return hashlib.sha256(f"{corpus.content_hash}:{encoder.fingerprint()}".encode()).hexdigest()[:32]


def corpus_embeddings(
    corpus: Corpus,
    encoder: TextEncoder,
    cache_dir: str | Path | None,
    batch_size: int = 64,
    progress: bool = True,
) -> np.ndarray:
    """Embeddings of every premise in corpus order, read from the cache when present."""
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"{cache_key(corpus, encoder)}.npy"
        if path.is_file():
            cached = np.load(path, mmap_mode=None)
            if cached.shape == (len(corpus), encoder.dim):
                return cached
    vectors = encoder.encode(
        corpus.texts(), batch_size=batch_size, progress="embedding premises" if progress else None
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, vectors)
        os.replace(tmp, path)
    return vectors
