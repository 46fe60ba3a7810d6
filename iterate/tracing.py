"""Every verified proof of a round, stepped through the checker: (state before, tactic) for training and the memory."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import NextState, ProofFinished, Theorem
from proofsmith.eval.benchmarks.problem import Problem
from proofsmith.iterate.layout import RoundLayout
from proofsmith.iterate.records import RecordAppender, TracedProof, read_records

log = logging.getLogger(__name__)


def pass_rate(record: dict) -> float:
    """A results record's share of successful attempts (its empirical pass rate)."""
    attempts = record.get("attempts") or 0
    return (record.get("successes") or 0) / attempts if attempts else 0.0


def trace_proof(session, theorem: Theorem, proof: str, timeout_s: float = 10.0) -> list[tuple[str, str]]:
    """(state before, tactic) for each line of a verified proof, as the checker runs it."""
    state = session.open(theorem, timeout_s)
    steps = []
    for line in proof.splitlines():
        tactic = line.strip()
        if not tactic:
            continue
        result = session.run(state, tactic, timeout_s)
        if not isinstance(result, (NextState, ProofFinished)):
            break
        steps.append((state.text, tactic))
        state = result.state
    return steps


def trace_round_proofs(rd: RoundLayout, problems: Sequence[Problem], settings: CheckerSettings) -> dict[str, int]:
    """Trace each proved record of the round's results files not yet in proofs.jsonl; the stage's counts."""
    from proofsmith.formats.run_records import read_results

    by_name = {p.name: p for p in problems}
    done = {p.name for p in read_records(rd.proofs, TracedProof)}
    proved = [rec for path in (rd.pool_results, rd.conjecture_results) if path.is_file() for rec in read_results(path)
              if rec.get("verdict") == "proved" and rec.get("proof") and rec["name"] not in done]
    if proved:
        from proofsmith.checker.registry import open_checker

        checker = open_checker("coq", settings)
        try:
            with RecordAppender(rd.proofs) as out:
                for rec in proved:
                    problem = by_name[rec["name"]]
                    proof = rec.get("proof") or ""
                    try:
                        with checker.session() as session:
                            steps = trace_proof(session, problem.theorem, proof)
                    except Exception as exc:  # a proof that re-checked but cannot be stepped: kept untraced
                        log.warning("tracing %s: %s", rec["name"], exc)
                        steps = []
                    out.append(TracedProof(name=rec["name"], pool=problem.split, proof=proof, steps=steps,
                                           pass_rate=pass_rate(dict(rec))))
        finally:
            checker.close()
    return {"proofs": len(read_records(rd.proofs, TracedProof))}
