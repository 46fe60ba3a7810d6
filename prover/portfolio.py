"""The model-free baseline: a fixed portfolio of Coq automation, tried in order within the budget.

Every candidate is one tactic sentence run from the theorem's initial state
through the interactive API (cheap: the header stays loaded and going back is
an `Edit_at`). A candidate that finishes the proof is then judged as a whole
proof by the checker's soundness guard; only that verdict can make the result
"proved". This is the floor every learned prover must beat.
"""

from __future__ import annotations

import random
import time

from proofsmith.checker.backend import Checker, SessionCrashed
from proofsmith.checker.types import ProofFinished, TacticTimeout, Theorem, Verdict
from proofsmith.prover.base import AttemptOutcome, Budget, Prover, ProverResult

# Decision procedures and general automation, cheapest and most often useful first.
CLOSERS = (
    "lia",
    "lra",
    "ring",
    "field",
    "reflexivity",
    "auto",
    "intuition",
    "tauto",
    "congruence",
    "nia",
    "nra",
    "firstorder",
)
# Each closer is also tried after introducing hypotheses, after simplifying,
# and after substituting equations x = e away (which helps nia/nra most).
PREPARATIONS = ("", "intros; ", "intros; simpl in *; ", "intros; subst; ")
# CoqHammer's reconstruction tactics (PortfolioProver(hammer=True)): they need the Hammer.Tactics
# library in the tactic prelude (CheckerSettings.with_hammer) and no external prover. Each does
# its own intros; after simplification they see more.
HAMMER_CLOSERS = ("qauto", "hauto", "sauto")
HAMMER_PREPARATIONS = ("", "intros; simpl in *; ")
# The hammer itself (premise selection and ATPs, in a coqc of its own) runs after the first pass
# when at least this much of the budget is left.
HAMMER_MIN_S = 5.0
# Seconds each tactic gets on the first pass; those that time out are retried
# with the full tactic timeout while the budget lasts.
FIRST_PASS_TIMEOUT_S = 1.0


def default_portfolio(hammer: bool = False) -> tuple[str, ...]:
    """Every preparation with every closer, as single tactic sentences, in trial order;
    with `hammer`, CoqHammer's sauto/hauto/qauto after them."""
    tactics = tuple(f"{prep}{closer}." for prep in PREPARATIONS for closer in CLOSERS)
    if hammer:
        tactics += tuple(f"{prep}{closer}." for prep in HAMMER_PREPARATIONS for closer in HAMMER_CLOSERS)
    return tactics


class PortfolioProver(Prover):
    name = "portfolio"
    model = "none"
    backends = ("coq",)

    def __init__(self, tactics: tuple[str, ...] | None = None, hammer: bool = False):
        """`hammer`: CoqHammer's tactics join the portfolio and, where its plugin, helpers and an
        ATP are installed, the `hammer` tactic runs once (its reconstruction is what goes into the
        proof). The checker's prelude must load Hammer.Tactics (CheckerSettings.with_hammer)."""
        self.hammer = hammer
        self.tactics = tactics or default_portfolio(hammer)

    def describe(self) -> dict[str, object]:
        return {"prover": self.name, "model": self.model, "tactics": len(self.tactics), "hammer": self.hammer}

    def _order(self, attempt: int, seed: int) -> list[str]:
        """Attempt 0 uses the fixed order; later attempts (for pass@k) a seeded permutation."""
        order = list(self.tactics)
        if attempt > 0:
            random.Random(f"{seed}/{attempt}").shuffle(order)
        return order

    def prove(self, theorem: Theorem, checker: Checker, budget: Budget) -> ProverResult:
        t0 = time.monotonic()
        result = ProverResult(theorem=theorem.name, verdict=Verdict.FAILED)
        if theorem.backend != "coq":
            result.verdict = Verdict.ERROR
            result.reason = f"the portfolio prover knows Coq tactics only, not {theorem.backend}"
            return result
        per_attempt = budget.wall_s / budget.attempts
        stats = _Stats()
        with checker.session() as session:
            try:
                root = session.open(theorem, timeout_s=per_attempt)
            except ValueError as exc:
                result.verdict = Verdict.ERROR
                result.reason = str(exc)
                result.time_s = time.monotonic() - t0
                return result
            for attempt in range(budget.attempts):
                start = time.monotonic()
                verdict, proof, check = self._attempt(
                    session, theorem, root, self._order(attempt, budget.seed), start + per_attempt, budget, stats
                )
                result.attempts.append(AttemptOutcome(verdict, proof, time.monotonic() - start))
                if check is not None and result.check is None:
                    result.proof, result.check = proof, check
        result.time_s = time.monotonic() - t0
        result.timings = {"checker": result.time_s}
        result.extra = {"tactics_run": stats.run, "tactic_timeouts": stats.timeouts, "tactic_crashes": stats.crashes}
        if self.hammer:
            result.extra.update(hammer_runs=stats.hammer_runs, hammer_reconstructions=stats.hammer_found,
                                hammer_s=round(stats.hammer_s, 2))
        if result.check is not None:
            result.verdict = Verdict.PROVED
        elif any(a.verdict is Verdict.TIMEOUT for a in result.attempts):
            result.verdict = Verdict.TIMEOUT
            result.reason = f"budget of {budget.wall_s:g} s spent ({stats.describe()})"
        else:
            result.reason = f"none of the {len(self.tactics)} portfolio tactics proved it ({stats.describe()})"
        return result

    def _attempt(self, session, theorem, root, order, deadline, budget, stats):
        """One pass over the portfolio, then a second, longer one over the tactics that timed out.

        The first pass gives every tactic at most FIRST_PASS_TIMEOUT_S so that
        one slow tactic cannot eat the budget before cheap ones are tried.
        """
        retry = []
        for timeout_cap, tactics in ((min(FIRST_PASS_TIMEOUT_S, budget.tactic_timeout_s), order), (budget.tactic_timeout_s, retry)):
            if tactics is retry and self.hammer:
                found = self._hammer(session, theorem, root, deadline, stats)
                if found is not None:
                    return Verdict.PROVED, *found
            if not tactics or (tactics is retry and timeout_cap <= FIRST_PASS_TIMEOUT_S):
                continue
            for tactic in list(tactics):
                remaining = deadline - time.monotonic()
                if remaining <= 0.05:
                    return Verdict.TIMEOUT, None, None
                stats.run += 1
                try:
                    step = session.run(root, tactic, timeout_s=min(timeout_cap, remaining))
                except SessionCrashed:
                    # e.g. the memory cap stopped a runaway computation; the
                    # session restarts on its next use, so go on with the next tactic
                    stats.crashes += 1
                    continue
                if isinstance(step, TacticTimeout):
                    stats.timeouts += 1
                    if tactics is order:
                        retry.append(tactic)
                    continue
                if not isinstance(step, ProofFinished):
                    continue
                check = session.check(theorem, tactic, timeout_s=max(deadline - time.monotonic(), 5.0))
                if check.proved:
                    return Verdict.PROVED, tactic, check
        return Verdict.FAILED, None, None


    def _hammer(self, session, theorem, root, deadline, stats):
        """Run `hammer` on the initial goal out of band; its reconstruction, run and checked
        in the session like any tactic: (proof, check) when it proves the theorem."""
        from proofsmith.checker.coq import hammer

        settings = getattr(session, "settings", None)
        remaining = deadline - time.monotonic()
        if (settings is None or theorem.place is not None or remaining < HAMMER_MIN_S or stats.hammer_runs
                or not hammer.hammer_installed()):
            return None
        stats.hammer_runs += 1
        found = hammer.run_hammer(settings.coq_prelude, theorem.header, theorem.statement, remaining - 1.0,
                                  coq_args=settings.coq_args)
        stats.hammer_s += found.time_s
        if found.tactic is None:
            return None
        stats.hammer_found += 1
        try:
            step = session.run(root, found.tactic, timeout_s=max(deadline - time.monotonic(), 2.0))
        except SessionCrashed:
            stats.crashes += 1
            return None
        if not isinstance(step, ProofFinished):
            return None
        check = session.check(theorem, found.tactic, timeout_s=max(deadline - time.monotonic(), 5.0))
        return (found.tactic, check) if check.proved else None


class _Stats:
    def __init__(self) -> None:
        self.run = self.timeouts = self.crashes = 0
        self.hammer_runs = self.hammer_found = 0
        self.hammer_s = 0.0

    def describe(self) -> str:
        text = f"{self.run} tactic runs, {self.timeouts} timed out, {self.crashes} crashed the checker"
        if self.hammer_runs:
            text += f", hammer {self.hammer_found}/{self.hammer_runs} reconstructions in {self.hammer_s:.1f} s"
        return text
