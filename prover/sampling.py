"""Whole-proof sampling (pass@k, as in STP): draw K complete proofs, check them in batches.

The model writes a whole proof script for the theorem's initial goals (read
from the checker, so the prompt is the one the model was trained on; retrieved
premises go in the prompt as for tactics). Samples are drawn in chunks while the wall
budget lasts; each chunk is judged with `checker.check_batch`, so sampling and
checking interleave and every sample drawn is checked. All K samples are
checked even after a success, so the number of correct samples is an honest
input to the unbiased pass@k estimator.
"""

from __future__ import annotations

import time

from proofsmith.checker.backend import Checker
from proofsmith.checker.types import CheckResult, ProofTask, Theorem, Verdict
from proofsmith.prover.base import AttemptOutcome, Budget, Prover, ProverResult
from proofsmith.prover.generators.base import LanguageModelGenerator
from proofsmith.prover.premises import PremiseRetriever
from proofsmith.prover.stopwatch import Stopwatch


class WholeProofSampler(Prover):
    name = "sample"

    def __init__(
        self,
        generator: LanguageModelGenerator,
        retriever: PremiseRetriever | None = None,
        premises_k: int = 16,
        temperature: float = 1.0,
        chunk: int = 4,
    ):
        if not isinstance(generator, LanguageModelGenerator):
            raise TypeError(f"whole-proof sampling needs a language-model generator, not {generator.name}")
        self.generator = generator
        self.retriever = retriever
        self.premises_k = premises_k
        self.temperature = temperature
        self.chunk = chunk
        self.model = generator.model

    def describe(self) -> dict:
        return {"prover": self.name, "model": self.model, "generator": self.generator.name, "temperature": self.temperature}

    def prove(self, theorem: Theorem, checker: Checker, budget: Budget) -> ProverResult:
        start = time.perf_counter()
        deadline = start + budget.wall_s
        clock = Stopwatch()
        try:
            with clock.timing("checker"), checker.session() as session:
                root = session.open(theorem, timeout_s=max(budget.tactic_timeout_s, 1.0))
        except ValueError as exc:  # the statement does not elaborate
            return ProverResult(theorem.name, Verdict.ERROR, time_s=time.perf_counter() - start,
                                timings=clock.rounded(), reason=str(exc))
        premises = []
        if self.retriever is not None:
            with clock.timing("retrieval"):
                premises = self.retriever.retrieve(root.text, theorem, self.premises_k)
        attempts: list[AttemptOutcome] = []
        checked: dict[str, CheckResult] = {}
        first_proof: tuple[str, CheckResult] | None = None
        likeliest_failure: tuple[float, str] | None = None
        while len(attempts) < budget.attempts and time.perf_counter() < deadline:
            n = min(self.chunk, budget.attempts - len(attempts))
            t0 = time.perf_counter()
            with clock.timing("model"):
                samples = self.generator.sample_proofs(
                    root, n, premises, self.temperature, seed=budget.seed * 1_000_003 + len(attempts),
                    time_limit_s=max(deadline - time.perf_counter(), 0.01),
                )
            per_sample = (time.perf_counter() - t0) / max(len(samples), 1)
            fresh = sorted({s.text for s in samples if s.text and s.text not in checked})
            with clock.timing("checker"):
                results = checker.check_batch(
                    [ProofTask(theorem, proof, budget.tactic_timeout_s) for proof in fresh]
                )
            checked.update(zip(fresh, results))
            for sample in samples:
                result = checked.get(sample.text)
                if result is None:  # an empty sample is a failed attempt, not a check
                    attempts.append(AttemptOutcome(Verdict.FAILED, None, per_sample))
                    continue
                attempts.append(AttemptOutcome(result.verdict, sample.text, per_sample + result.time_s))
                if result.proved and first_proof is None:
                    first_proof = (sample.text, result)
                if not result.proved and (likeliest_failure is None or sample.logprob > likeliest_failure[0]):
                    likeliest_failure = (sample.logprob, sample.text)
        elapsed = time.perf_counter() - start
        result = ProverResult(
            theorem=theorem.name,
            verdict=Verdict.PROVED if first_proof else Verdict.FAILED,
            attempts=attempts,
            time_s=elapsed,
            timings=clock.rounded(),
            extra={"samples": len(attempts), "distinct": len(checked), "successes": sum(a.verdict is Verdict.PROVED for a in attempts)},
        )
        if first_proof:
            result.proof, result.check = first_proof
        elif len(attempts) < budget.attempts:
            result.verdict = Verdict.TIMEOUT
            result.reason = f"wall-clock budget of {budget.wall_s:g} s spent after {len(attempts)} of {budget.attempts} samples"
        else:
            result.reason = f"none of {len(attempts)} samples ({len(checked)} distinct) was accepted"
        if not first_proof and likeliest_failure:
            result.proof = likeliest_failure[1]  # the runner records the best attempt
        return result
