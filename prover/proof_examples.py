"""Whole proofs shown to a model next to its goal (Rango's proof retrieval): a small protocol.

The tactic memory (prover.tactic_memory) provides them; the prompt
(prover.prompt) packs them; the prover depends only on these two names, so any
object with a `similar_proofs` method can feed the prompts.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ProofExample:
    """A whole remembered proof: its theorem, the state it starts from and its tactics in order."""

    theorem: str
    state: str
    tactics: tuple[str, ...]


@runtime_checkable
class ProofRetriever(Protocol):
    def similar_proofs(self, state: str, k: int, exclude: Collection[str] = ()) -> list[ProofExample]:
        """The proofs of the k theorems whose steps are nearest `state`, nearest first, none named in `exclude`."""
        ...
