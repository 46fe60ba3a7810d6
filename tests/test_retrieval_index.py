"""FAISS indexes: accessibility is never violated, results equal brute force, saved indexes reload."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proofsmith.retrieval.benchmark import Query
from proofsmith.retrieval.bm25 import BM25Retriever
from proofsmith.retrieval.corpus import Corpus
from proofsmith.retrieval.encoder import TextEncoder
from proofsmith.retrieval.index import PremiseIndex, PremiseIndexError
from proofsmith.retrieval.retriever import DenseRetriever, encoder_meta
from proofsmith.retrieval.settings import RetrievalSettings

FIXTURE = Path(__file__).parent / "fixtures" / "retrieval"
RAW = [json.loads(line) for line in (FIXTURE / "corpus.jsonl").read_text().splitlines()]


def reference_accessible(path: str, pos: tuple[int, int]) -> set[str]:
    """Accessibility straight from the JSON, independently of retrieval.corpus."""
    files = {f["path"]: f for f in RAW}
    seen, stack = set(), list(files[path]["imports"])
    while stack:
        f = stack.pop()
        if f not in seen:
            seen.add(f)
            stack.extend(files[f]["imports"])
    names = {p["full_name"] for f in seen for p in files[f]["premises"]}
    names |= {p["full_name"] for p in files[path]["premises"] if tuple(p["end"]) <= tuple(pos)}
    return names


@pytest.fixture(scope="module")
def corpus():
    return Corpus.load(FIXTURE)


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder()


@pytest.fixture(scope="module")
def index(corpus, encoder):
    # approx_min_fraction=0 forces HNSW even under the tightest filters.
    s = RetrievalSettings(approx_min_fraction=0.0, cache_dir=Path("/nonexistent"))
    vectors = encoder.encode(corpus.texts())
    return PremiseIndex.build(corpus, vectors, "hnsw", encoder_meta(encoder), s)


@pytest.fixture(scope="module")
def bm25(corpus):
    return BM25Retriever(corpus)


places = st.tuples(
    st.sampled_from([f["path"] for f in RAW]),
    st.integers(min_value=0, max_value=60),
    st.integers(min_value=0, max_value=100),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(place=places, k=st.integers(1, 60), seed=st.integers(0, 2**32 - 1), approximate=st.booleans())
def test_dense_search_never_returns_an_inaccessible_premise(index, corpus, place, k, seed, approximate):
    path, line, col = place
    allowed = reference_accessible(path, (line, col))
    query = np.random.default_rng(seed).standard_normal((2, index.dim)).astype(np.float32)
    mask = corpus.accessible_mask(path, (line, col))
    scores, ids = index.search(query, k, mask, approximate=approximate)
    for row_ids, row_scores in zip(ids, scores):
        got = [corpus.premises[i].full_name for i in row_ids if i >= 0]
        assert set(got) <= allowed
        assert len(got) == min(k, len(allowed))  # always k accessible results when there are k
        assert all(i == -1 for i in row_ids[len(got):])
        assert list(row_scores[: len(got)]) == sorted(row_scores[: len(got)], reverse=True)
    if not approximate:
        # exact search equals NumPy brute force over the accessible premises
        vectors = index.embeddings()
        ok = np.flatnonzero(mask)
        for row, q in enumerate(query):
            brute = dict(zip(ok.tolist(), (vectors[ok] @ q).tolist()))
            got = [i for i in ids[row] if i >= 0]
            kth = sorted(brute.values(), reverse=True)[len(got) - 1] if got else None
            for i, score in zip(got, scores[row]):
                assert score == pytest.approx(brute[i], abs=1e-5)
                assert brute[i] >= kth - 1e-5  # a true top-k member (ties aside)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(place=places, k=st.integers(1, 60), words=st.lists(st.sampled_from(
    ["n", "m", "+", "0", "=", "list", "app", "rev", "bool", "negb", "<=", "Sorted", "nat", "S", "xyz"]
), max_size=12))
def test_bm25_never_returns_an_inaccessible_premise(bm25, place, k, words):
    path, line, col = place
    allowed = reference_accessible(path, (line, col))
    [hits] = bm25.search([Query(" ".join(words), path, (line, col))], k)
    assert {h.name for h in hits} <= allowed
    assert len(hits) == min(k, len(allowed))


def test_retriever_groups_queries_without_mixing_their_filters(index, encoder, corpus):
    retriever = DenseRetriever(encoder, index)
    a = corpus.by_name["Coq.Lists.List.app_assoc"]
    b = corpus.by_name["Coq.Arith.Even.even_double"]
    queries = [Query("l ++ nil = l", a.path, a.start), Query("even (n + n) = true", b.path, b.start)] * 2
    hits = retriever.search(queries, 50)
    assert {h.name for h in hits[0]} <= reference_accessible(a.path, a.start)
    assert {h.name for h in hits[1]} <= reference_accessible(b.path, b.start)
    assert "Coq.Bool.Bool.negb_involutive" in {h.name for h in hits[1]}
    assert [h.name for h in hits[0]] == [h.name for h in hits[2]]


def test_saved_index_reloads_to_identical_results(index, encoder, corpus, tmp_path):
    index.save(tmp_path / "idx")
    again = PremiseIndex.load(tmp_path / "idx", index.settings)
    assert again.approx_kind == "hnsw" and again.corpus.content_hash == corpus.content_hash
    queries = encoder.encode(["n + 0 = n", "rev (rev l) = l", "negb (negb b) = b"])
    for p in (corpus.by_name["Coq.Arith.Even.even_double"], corpus.by_name["Coq.Lists.List.rev_involutive"]):
        mask = corpus.accessible_mask(p.path, p.start)
        for approximate in (False, True):
            before = index.search(queries, 10, mask, approximate)
            after = again.search(queries, 10, mask, approximate)
            np.testing.assert_array_equal(before[1], after[1])
            np.testing.assert_array_equal(before[0], after[0])
    # and through the retriever, with the encoder the index records
    loaded = DenseRetriever.load(tmp_path / "idx")
    q = Query("rev (rev l) = l", "Lists/List.v", (40, 1))
    assert [h.name for h in loaded.search([q], 5)[0]] == [h.name for h in DenseRetriever(encoder, index).search([q], 5)[0]]


def test_index_folder_problems_are_named(index, tmp_path):
    with pytest.raises(PremiseIndexError, match="not a premise index"):
        PremiseIndex.load(tmp_path)
    folder = index.save(tmp_path / "idx")
    lines = (folder / "corpus.jsonl").read_text().splitlines()
    (folder / "corpus.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(PremiseIndexError, match="does not match the corpus"):
        PremiseIndex.load(folder)


def test_ivf_and_restrictive_filters_fall_back_to_exact(corpus, index):
    vectors = index.embeddings()
    ivf = PremiseIndex.build(corpus, vectors, "ivf", settings=RetrievalSettings(approx_min_fraction=0.0, ivf_nprobe=1))
    assert ivf.approx_kind == "ivf"
    p = corpus.by_name["Init.Logic.f_equal"]  # sees only the 7 premises before it
    mask = corpus.accessible_mask(p.path, p.start)
    exact = ivf.search(vectors[:3], 10, mask)
    approx = ivf.search(vectors[:3], 10, mask, approximate=True)
    assert (approx[1] >= 0).sum(axis=1).tolist() == [7, 7, 7]
    np.testing.assert_array_equal(np.sort(exact[1]), np.sort(approx[1]))


def test_two_stage_exact_search_widens_when_half_precision_cannot_decide(corpus):
    """Near-duplicate vectors that float16 cannot tell apart: the bound must refuse and widen."""
    n = len(corpus)
    rng = np.random.default_rng(0)
    base = rng.standard_normal(32).astype(np.float32)
    base /= np.linalg.norm(base)
    vectors = base + rng.standard_normal((n, 32)).astype(np.float32) * 1e-5
    vectors[: n // 4] = rng.standard_normal((n // 4, 32)).astype(np.float32)  # and some clearly separated ones
    narrow = RetrievalSettings(exact_first_stage=2)  # the fixture corpus is small: start narrow
    index = PremiseIndex.build(corpus, vectors, "none", settings=narrow)
    mask = np.ones(n, dtype=bool)
    mask[::3] = False
    queries = np.stack([base, vectors[n // 2]])
    for k in (1, 3, 5):
        got_scores, got_ids = index.search(queries, k, mask)
        ref_scores, ref_ids = index.search(queries, k, mask, two_stage=False)
        np.testing.assert_allclose(got_scores, ref_scores, atol=1e-6)
        for row in range(len(queries)):
            assert mask[got_ids[row]].all()
            brute = np.where(mask, vectors @ queries[row], -np.inf)
            kth = np.sort(brute)[-k]
            assert (brute[got_ids[row]] >= kth - 1e-6).all()  # the true top k, up to exact ties
    assert index.widenings > 0, "the near-ties never made the half-precision stage widen"
    # well separated vectors are decided by the first stage alone
    clear = PremiseIndex.build(corpus, rng.standard_normal((n, 32)).astype(np.float32), "none", settings=narrow)
    clear.search(rng.standard_normal((4, 32)).astype(np.float32), 3, mask)
    assert clear.widenings == 0
