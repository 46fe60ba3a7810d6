"""The reference prover: replays the benchmark's own (human) proof through the checker.

A sanity check of a benchmark, not a prover: on `coq-library` it submits the
traced proof of each theorem, as the library wrote it, to the same guarded
whole-proof check every other prover's proof goes through. In its own file,
up to its statement, every library theorem should be proved this way; one
that is not points at the reconstruction of its context (or at the guard),
and its result carries Coq's error. The runner hands it the problem's
`reference_proof`; a problem without one is an error result, saying so.
"""

from __future__ import annotations

import time

from proofsmith.checker.backend import Checker
from proofsmith.checker.types import Theorem, Verdict
from proofsmith.prover.base import AttemptOutcome, Budget, Prover, ProverResult


class ReferenceProver(Prover):
    name = "reference"
    model = "none"
    replays_reference = True

    def prove(self, theorem: Theorem, checker: Checker, budget: Budget, reference: str | None = None) -> ProverResult:
        if reference is None:
            return ProverResult(theorem=theorem.name, verdict=Verdict.ERROR,
                                reason="the benchmark carries no human proof of this theorem to replay "
                                       "(--prover reference needs one: coq-library has them)")
        start = time.perf_counter()
        check = checker.check(theorem, reference, timeout_s=budget.wall_s)
        elapsed = time.perf_counter() - start
        result = ProverResult(
            theorem=theorem.name,
            verdict=check.verdict,
            proof=reference,
            check=check,
            # the replay is deterministic: one attempt whatever K
            attempts=[AttemptOutcome(check.verdict, reference if check.proved else None, elapsed)],
            time_s=elapsed,
            timings={"checker": elapsed},
            reason="" if check.proved else f"the human proof was not accepted: {check.reason}",
        )
        return result
