"""What the prover needs from premise retrieval: a small protocol.

The retrieval package (retrieval/) provides the real retrievers; the prover
depends only on this protocol so that any object with a `retrieve` method
(FAISS, BM25, a fixed list in a notebook) can feed the generators.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

from proofsmith.checker.types import Theorem


class RetrievedPremise(NamedTuple):
    name: str
    statement: str
    score: float


@runtime_checkable
class PremiseRetriever(Protocol):
    def retrieve(self, goal: str, theorem: Theorem, k: int) -> list[RetrievedPremise]:
        """The top-k premises accessible to `theorem` for proving `goal`, best first."""
        ...
