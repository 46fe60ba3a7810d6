"""Retrieval metrics as ReProver reports them.

Only queries (tactics) that used at least one premise count. For a query with
positives P and ranking r: R@k = |P ∩ r[:k]| / |P|, and the reciprocal rank is
1 / (position of the first positive in r), 0 if none is retrieved. R@k is
reported in percent, MRR as a fraction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass


def recall_at(ranking: Sequence[int], positives: Collection[int], k: int) -> float:
    if not positives:
        raise ValueError("recall is undefined for a query without positives")
    return len(set(ranking[:k]) & set(positives)) / len(positives)


def reciprocal_rank(ranking: Sequence[int], positives: Collection[int]) -> float:
    for position, premise in enumerate(ranking, 1):
        if premise in positives:
            return 1.0 / position
    return 0.0


@dataclass(frozen=True)
class RetrievalMetrics:
    r1: float
    r10: float
    mrr: float
    queries: int  # queries with at least one positive (the ones scored)
    skipped: int  # queries without positives

    def to_dict(self) -> dict:
        return asdict(self)


def score_rankings(
    rankings: Sequence[Sequence[int]], positives: Sequence[Collection[int]]
) -> RetrievalMetrics:
    if len(rankings) != len(positives):
        raise ValueError(f"{len(rankings)} rankings for {len(positives)} queries")
    r1 = r10 = mrr = 0.0
    scored = 0
    for ranking, pos in zip(rankings, positives):
        if not pos:
            continue
        scored += 1
        r1 += recall_at(ranking, pos, 1)
        r10 += recall_at(ranking, pos, 10)
        mrr += reciprocal_rank(ranking, pos)
    if scored == 0:
        return RetrievalMetrics(0.0, 0.0, 0.0, 0, len(rankings))
    return RetrievalMetrics(
        100 * r1 / scored, 100 * r10 / scored, mrr / scored, scored, len(rankings) - scored
    )
