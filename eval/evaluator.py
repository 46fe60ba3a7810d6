"""One proving worker: a checker with one session and a prover, judging one problem at a time.

For every problem the worker first asks the installed checker whether the
statement compiles (if not, the problem is unusable: recorded with the error,
never dropped), then runs the prover, then re-checks any proof the prover
calls proved through the checker's soundness guard; only that re-check can
make the recorded verdict "proved". The same class is the body of a Ray actor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import CheckerInfo, Verdict
from proofsmith.eval.benchmarks import Problem
from proofsmith.eval.benchmarks.system_packages import missing_packages
from proofsmith.formats.coq_load_path import LoadPath
from proofsmith.formats.run_records import RunContext, RunRecord
from proofsmith.prover.base import Budget


@dataclass(frozen=True)
class EvaluatorSpec:
    """What every worker of a run is built from (sent to Ray actors as it is)."""

    backend: str
    prover: str
    prover_options: dict[str, Any]
    budget: Budget
    # fields copied into every record (benchmark, seed, round, ...)
    context: RunContext = field(default_factory=lambda: RunContext())
    load_path: LoadPath = LoadPath()


class ProblemEvaluator:
    """One worker: a checker with one session, and a prover."""

    def __init__(self, spec: EvaluatorSpec):
        from proofsmith.checker.registry import open_checker
        from proofsmith.prover.registry import checker_settings, make_prover

        self.settings = checker_settings(spec.prover, spec.prover_options,
                                         CheckerSettings(workers=1).with_load_path(spec.load_path))
        self.prover = make_prover(spec.prover, **spec.prover_options)
        self.checker = open_checker(spec.backend, self.settings)
        self.budget = spec.budget
        self.context = spec.context

    def _statement_error(self, problem: Problem) -> str | None:
        try:
            with self.checker.session() as session:
                session.open(problem.theorem, timeout_s=self.settings.timeout_s)
        except ValueError as exc:
            return str(exc)
        except Exception as exc:  # a crash or hang while opening: unusable, with the reason
            return f"could not open the statement: {type(exc).__name__}: {exc}"
        return None

    def evaluate(self, problem: Problem) -> RunRecord:
        error = self._statement_error(problem)
        if error is not None:
            if problem.dataset_note:
                error += f" [dataset note: {problem.dataset_note}]"
            missing = missing_packages(problem.requires)
            if missing:
                error += f" [needs Debian packages not installed here: {' '.join(missing)}]"
            return self._record(problem, Verdict.ERROR, error, None, usable=False)
        reference = {"reference": problem.reference_proof} if self.prover.replays_reference else {}
        try:
            result = self.prover.prove(problem.theorem, self.checker, self.budget, **reference)
        except Exception as exc:
            return self._record(problem, Verdict.ERROR, f"prover failure: {type(exc).__name__}: {exc}", None)
        verdict, reason, axioms = result.verdict, result.reason, ()
        checker_info = result.check.checker if result.check else None
        if result.proved:
            recheck = self.checker.check(problem.theorem, result.proof or "", timeout_s=self.settings.timeout_s)
            checker_info = recheck.checker
            axioms = recheck.axioms
            if not recheck.proved:
                verdict = recheck.verdict
                reason = f"the soundness guard rejected the prover's proof: {recheck.verdict.value}: {recheck.reason}"
        record = self._record(problem, verdict, reason, result.proof, axioms=axioms, checker=checker_info)
        record["time_s"] = round(result.time_s, 3)
        record["attempts"] = len(result.attempts)
        record["successes"] = result.successes if verdict is Verdict.PROVED else 0
        record["attempt_verdicts"] = [a.verdict.value for a in result.attempts]
        record["timings"] = {k: round(v, 3) for k, v in result.timings.items()}
        record["prover_extra"] = result.extra
        return record

    def _record(self, problem: Problem, verdict: Verdict, reason: str, proof: str | None, *, usable: bool = True,
                axioms: Sequence[str] = (), checker: CheckerInfo | None = None) -> RunRecord:
        record: RunRecord = {
            "name": problem.name,
            "split": problem.split,
            "category": problem.category,
            **self.context,
            "prover": self.prover.name,
            "model": self.prover.model,
            "usable": usable,
            "verdict": verdict.value,
            "reason": reason,
            "proof": proof,
            "axioms": list(axioms),
            "time_s": 0.0,
            "attempts": 0,
            "successes": 0,
            "checker": self._checker_field(checker),
        }
        if problem.theorem.place:
            record["place"] = asdict(problem.theorem.place)
        if problem.decision_procedures is not None:  # what was loaded before the proof, what refused and why
            record["decision_procedures"] = problem.decision_procedures.record()
        return record

    def _checker_field(self, info: CheckerInfo | None) -> dict[str, Any] | None:
        """Which checker judged the result (backend, version, prelude), on every record."""
        try:
            info = info or self.checker.info
        except Exception:  # the checker cannot start a session: the reason is in the record already
            return None
        return asdict(info)

    def close(self) -> None:
        self.checker.close()
