"""Proof retrieval (Rango): a language-model generator whose prompts show the most similar proofs.

`ProofRetrievalGenerator` wraps any `LanguageModelGenerator` (transformers,
CTranslate2, vLLM, a served model): for each goal it asks a `ProofRetriever`
(the tactic memory) for the whole proofs of the `proofs_k` theorems whose
steps are nearest, puts them into the request (`TacticRequest.proofs`), and
the wrapped generator's one prompt path (`PromptFormat.tactic_prompt`) packs
them with the premises under the token budget, exactly as training does
(prover.sft with `proof_retrieval`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from proofsmith.prover.generators.base import LanguageModelGenerator, TacticCandidate, TacticGenerator, TacticRequest
from proofsmith.prover.proof_examples import ProofRetriever

DEFAULT_PROOFS_K = 2


class ProofRetrievalGenerator(TacticGenerator):
    def __init__(self, generator: LanguageModelGenerator, proofs: ProofRetriever, proofs_k: int = DEFAULT_PROOFS_K,
                 learner: TacticGenerator | None = None):
        """`learner`: a generator told of each proof found (the tactic memory behind `proofs`, when
        it is not also one of search's generators)."""
        if proofs_k < 1:
            raise ValueError(f"proofs_k must be at least 1, got {proofs_k}")
        self.generator = generator
        self.proofs = proofs
        self.proofs_k = proofs_k
        self.name = f"{generator.name}+proofs"
        self.model = generator.model
        self.costly = generator.costly
        self.uses_premises = generator.uses_premises
        self.learner = learner

    def propose(self, request: TacticRequest) -> list[list[TacticCandidate]]:
        goals = [goal for goal, _ in request.goal_premises()]
        proofs = [self.proofs.similar_proofs(goal, self.proofs_k) for goal in goals]
        return self.generator.propose(replace(request, proofs=proofs))

    def learn(self, theorem: str, steps: Sequence[tuple[str, str]]) -> None:
        self.generator.learn(theorem, steps)
        if self.learner is not None:
            self.learner.learn(theorem, steps)
