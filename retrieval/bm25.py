"""BM25 (Okapi, via rank-bm25) over premise texts: the baseline a learned retriever must beat.

rank-bm25 scores one document at a time in Python; here its statistics (idf,
document lengths, k1, b) are laid out once as a sparse term-by-premise weight
matrix, so scoring a batch of queries is one sparse product. The scores are
exactly ``BM25Okapi.get_scores`` (the tests check this).
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from proofsmith.retrieval.corpus import Corpus
from proofsmith.retrieval.retriever import Retriever, top_k_masked

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_'.]*|\d+|[^\sA-Za-z0-9_]")


def tokenize(text: str) -> list[str]:
    """Identifiers (and the parts of qualified ones), numbers and symbols."""
    tokens = []
    for tok in _TOKEN.findall(text):
        tokens.append(tok)
        if "." in tok.strip("."):
            tokens.extend(part for part in tok.split(".") if part)
    return tokens


class BM25Retriever(Retriever):
    def __init__(self, corpus: Corpus, k1: float = 1.5, b: float = 0.75) -> None:
        from rank_bm25 import BM25Okapi
        from scipy import sparse

        self.corpus = corpus
        self.bm25 = BM25Okapi([tokenize(t) for t in corpus.texts()], k1=k1, b=b)
        self.vocabulary = {term: i for i, term in enumerate(self.bm25.idf)}
        doc_len = np.asarray(self.bm25.doc_len, dtype=np.float64)
        norm = k1 * (1 - b + b * doc_len / self.bm25.avgdl)
        rows, cols, vals = [], [], []
        for doc, freqs in enumerate(self.bm25.doc_freqs):
            for term, tf in freqs.items():
                rows.append(self.vocabulary[term])
                cols.append(doc)
                vals.append(self.bm25.idf[term] * tf * (k1 + 1) / (tf + norm[doc]))
        self.weights = sparse.csr_matrix(
            (vals, (rows, cols)), shape=(len(self.vocabulary), len(corpus)), dtype=np.float64
        )

    def _prepare(self, states: list[str]):
        from scipy import sparse

        rows, cols, vals = [], [], []
        for r, state in enumerate(states):
            for term, count in Counter(tokenize(state)).items():
                col = self.vocabulary.get(term)
                if col is not None:
                    rows.append(r)
                    cols.append(col)
                    vals.append(count)
        return sparse.csr_matrix(
            (vals, (rows, cols)), shape=(len(states), len(self.vocabulary)), dtype=np.float64
        )

    def scores(self, text: str) -> np.ndarray:
        """BM25 score of every premise for ``text``."""
        product = self._prepare([text]) @ self.weights  # sparse @ sparse; scipy's stubs say ndarray
        return np.asarray(product.todense()).ravel()  # pyright: ignore[reportAttributeAccessIssue]

    def _rank(self, prepared, rows, mask, k):
        dense = np.asarray((prepared[rows] @ self.weights).todense())
        return top_k_masked(dense, mask, k)
