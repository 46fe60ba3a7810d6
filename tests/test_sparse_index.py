import faiss
import numpy as np
import pytest

from proofsmith.retrieval import sparse_index
from proofsmith.retrieval.feature_encoder import FeatureEncoder
from proofsmith.retrieval.sparse_index import SparseInnerProductIndex, is_sparse


def _sparse_unit_rows(rng: np.random.Generator, n: int, dim: int, density: float) -> np.ndarray:
    rows = rng.random((n, dim)).astype(np.float32) * (rng.random((n, dim)) < density)
    rows[:, 0] += 1e-3  # no empty row
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _flat(vectors: np.ndarray, queries: np.ndarray, k: int, rows: int | None = None):
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors[:rows])
    return index.search(queries, k)


def test_the_sparse_scan_finds_what_the_flat_scan_finds(monkeypatch):
    monkeypatch.setattr(sparse_index, "FOLD_ROWS", 50)  # rows added later: some folded, some still dense
    rng = np.random.default_rng(0)
    vectors = _sparse_unit_rows(rng, 600, 64, 0.1)
    queries = _sparse_unit_rows(rng, 40, 64, 0.1)
    index = SparseInnerProductIndex(64)
    index.add(vectors[:400])
    for start in range(400, 600, 30):
        index.add(vectors[start:start + 30])
    assert index.ntotal == 600
    for rows in (None, 123, 600):
        scores, ids = index.search(queries, 10, rows)
        flat_scores, flat_ids = _flat(vectors, queries, 10, rows)
        np.testing.assert_allclose(scores, flat_scores, atol=1e-5)
        for mine, theirs, row_scores in zip(ids, flat_ids, flat_scores):
            # the same rows, up to the order of scores FAISS rounds differently
            assert set(mine) == set(theirs) or np.ptp(row_scores[-2:]) < 1e-5
        if rows is not None:
            assert ids.max() < rows


def test_fewer_rows_than_k_are_padded():
    index = SparseInnerProductIndex(8)
    index.add(np.eye(8, dtype=np.float32)[:3])
    scores, ids = index.search(np.eye(8, dtype=np.float32)[:1], 5)
    assert list(ids[0]) == [0, 1, 2, -1, -1]  # equal scores by row
    assert scores[0, 0] == pytest.approx(1.0) and np.isinf(scores[0, 3:]).all()
    assert (index.search(np.eye(8, dtype=np.float32)[:1], 5, rows=0)[1] == -1).all()
    with pytest.raises(ValueError, match="dimension 8"):
        index.add(np.zeros((2, 9), dtype=np.float32))


def test_hashed_features_are_sparse_and_dense_vectors_are_not():
    states = ["n + 0 = n\nn : nat", "rev (rev l) = l\nl : list nat", "forall x y : Z, x <= y -> x < y + 1"]
    assert is_sparse(FeatureEncoder().encode(states))
    assert not is_sparse(np.ones((3, 16), dtype=np.float32))


def test_nbytes_counts_the_sparse_columns_not_a_dense_copy():
    rng = np.random.default_rng(1)
    vectors = _sparse_unit_rows(rng, 1000, 256, 0.05)
    index = SparseInnerProductIndex(256)
    index.add(vectors)
    nonzeros = np.count_nonzero(vectors)
    # a float32 value and an int32 row index per non-zero, plus the column pointers
    assert index.nbytes == nonzeros * 8 + 257 * 4
    assert index.nbytes < vectors.nbytes / 4
