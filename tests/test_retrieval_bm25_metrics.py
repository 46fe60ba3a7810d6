import math

import numpy as np
import pytest

from proofsmith.retrieval.bm25 import BM25Retriever, tokenize
from proofsmith.retrieval.corpus import Corpus
from proofsmith.retrieval.metrics import recall_at, reciprocal_rank, score_rankings


def tiny_corpus():
    docs = ["apple banana", "apple apple cherry", "banana durian egg fig"]
    return Corpus([{
        "path": "A.v", "imports": [],
        "premises": [
            {"full_name": f"d{i}", "code": text, "start": [i + 1, 1], "end": [i + 1, 40]}
            for i, text in enumerate(docs)
        ],
    }])


def test_bm25_matches_the_formula_by_hand():
    corpus = tiny_corpus()
    bm25 = BM25Retriever(corpus, k1=1.5, b=0.75)
    # documents as tokenized: name + code
    lengths = [3, 4, 5]
    avgdl = sum(lengths) / 3
    n = 3
    # "cherry" occurs in one document: idf = ln((3 - 1 + 0.5) / (1 + 0.5))
    idf = math.log((n - 1 + 0.5) / (1 + 0.5))
    tf, dl = 1, lengths[1]
    expected = idf * tf * 2.5 / (tf + 1.5 * (1 - 0.75 + 0.75 * dl / avgdl))
    np.testing.assert_allclose(bm25.scores("cherry"), [0.0, expected, 0.0])
    # a repeated query term counts twice, as in rank-bm25
    np.testing.assert_allclose(bm25.scores("cherry cherry"), [0.0, 2 * expected, 0.0])
    assert bm25.scores("unknownword").tolist() == [0.0, 0.0, 0.0]


def test_bm25_equals_rank_bm25_on_the_fixture():
    from pathlib import Path

    corpus = Corpus.load(Path(__file__).parent / "fixtures" / "retrieval")
    bm25 = BM25Retriever(corpus)
    for text in ["n : nat\n====\nn + 0 = n", "rev (rev l) = l", "negb (andb b1 b2)", "Nat.add_comm"]:
        np.testing.assert_allclose(bm25.scores(text), bm25.bm25.get_scores(tokenize(text)), atol=1e-12)


def test_tokenize_keeps_qualified_names_and_their_parts():
    assert tokenize("Nat.add_comm (n+0)") == ["Nat.add_comm", "Nat", "add_comm", "(", "n", "+", "0", ")"]


def test_recall_and_reciprocal_rank_by_hand():
    assert recall_at([3, 1, 2], {1}, 1) == 0.0
    assert recall_at([3, 1, 2], {1}, 10) == 1.0
    assert recall_at([3, 1, 2], {1, 2, 9}, 2) == pytest.approx(1 / 3)
    assert reciprocal_rank([3, 1, 2], {1, 2}) == 0.5
    assert reciprocal_rank([3, 4], {1}) == 0.0
    with pytest.raises(ValueError):
        recall_at([1], set(), 1)


def test_score_rankings_averages_only_queries_with_positives():
    m = score_rankings(
        [[1, 2, 3], [5, 6] + list(range(100, 120)), [7], [8]],
        [{1}, {6, 99}, set(), {0}],
    )
    assert (m.queries, m.skipped) == (3, 1)
    assert m.r1 == pytest.approx(100 * (1 + 0 + 0) / 3)
    assert m.r10 == pytest.approx(100 * (1 + 0.5 + 0) / 3)
    assert m.mrr == pytest.approx((1 + 0.5 + 0) / 3)
