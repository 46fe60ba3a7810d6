"""A feature-hashing encoder for proof states, after Tactician's k-NN features.

Tactician (Blaauwbroek et al.) finds similar proof states by the symbols they
mention and how they combine, not by a neural embedding, and that is enough
for 39.3% of the Coq stdlib. This encoder does the same cheaply: the tokens
of a state (identifiers, numerals and operator symbols) and pairs of
consecutive tokens are hashed (signed, so collisions cancel on average) into a
fixed number of dimensions, the conclusion's features apart from the
hypotheses' and weighted higher, counts damped (1 + log), rows unit length, so
the inner product is a cosine similarity as with `retrieval.encoder`.

It offers the encoder interface the tactic memory needs (`name`, `dim`,
`fingerprint`, `encode`) and costs no model: the 66k states of the stdlib's
random/train embed in well under a minute on one core, where
all-MiniLM-L6-v2 took over an hour on two busy cores.

The text it reads is a memory's `state_key`: the first goal's conclusion on
the first line(s) before the hypotheses (`prover.tactic_memory.state_key`);
here the first line counts as the conclusion.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence

import numpy as np

DEFAULT_DIM = 512
# How much a conclusion feature weighs against a hypothesis feature.
CONCLUSION_WEIGHT = 2.0
# Identifiers (with qualified names and primes), numerals, and runs of operator characters.
_TOKEN = re.compile(r"[A-Za-z_][\w'.]*|\d+|[^\s\w()]+")
FEATURE_VERSION = 1


class FeatureEncoder:
    """Hashed token and token-pair features of proof states, as unit float32 rows."""

    def __init__(self, dim: int = DEFAULT_DIM):
        if dim < 16:
            raise ValueError(f"feature dimension must be at least 16, got {dim}")
        self._dim = dim

    @property
    def name(self) -> str:
        return f"features-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def fingerprint(self) -> str:
        return f"hashed-features-v{FEATURE_VERSION}-{self._dim}-w{CONCLUSION_WEIGHT:g}"

    def features(self, text: str) -> dict[str, float]:
        """The named features of one state with their weights (before hashing)."""
        conclusion, _, hypotheses = text.partition("\n")
        weights: dict[str, float] = {}
        for part, prefix, weight in ((conclusion, "c", CONCLUSION_WEIGHT), (hypotheses, "h", 1.0)):
            tokens = _TOKEN.findall(part)
            for i, token in enumerate(tokens):
                for name in (f"{prefix}:{token}", f"{prefix}:{tokens[i - 1]} {token}" if i else None):
                    if name is not None:
                        weights[name] = weights.get(name, 0.0) + 1.0
            for name in [n for n in weights if n.startswith(prefix + ":")]:
                weights[name] = weight * (1.0 + math.log(weights[name]))
        return weights

    def encode(self, texts: Sequence[str], batch_size: int = 0, progress: str | None = None) -> np.ndarray:
        """One unit row per text (`batch_size` is accepted for the encoder interface and unused)."""
        from tqdm import tqdm

        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(tqdm(texts, desc=progress, unit="text", disable=progress is None)):
            for name, weight in self.features(text).items():
                h = zlib.crc32(name.encode())
                out[row, h % self._dim] += weight if (h >> 31) & 1 else -weight
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out
