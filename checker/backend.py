"""What every backend offers.

A `ProofSession` is one live proof-assistant process (or connection) with the
interactive API; a `Checker` judges whole proofs in batches, usually over a
pool of sessions. Backends implement `ProofSession` (those that drive a
child process on `checker.process_session.ProcessSession`); `PooledChecker`
(checker.pool) turns any session type into a batched checker, so the Coq,
Lean and F* backends share one pool, one timeout policy and one
crash-recovery path.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from proofsmith.checker.types import CheckerInfo, CheckResult, GoalState, ProofTask, TacticResult, Theorem


class CheckerUnavailable(RuntimeError):
    """The backend's toolchain or server is missing; the message says what to install."""


class SessionCrashed(RuntimeError):
    """The proof-assistant process died or stopped answering; the session must be restarted."""


class HeaderError(ValueError):
    """A problem's header (imports, opens; for F*, the file's checked prefix) does not load: it cannot be checked."""


class ProofSession(abc.ABC):
    info: CheckerInfo
    uses: int  # whole proofs judged so far; the pool recycles a session after `max_uses`

    @abc.abstractmethod
    def open(self, theorem: Theorem, timeout_s: float | None = None) -> GoalState:
        """Start proving `theorem`; raises ValueError when the statement does not elaborate."""

    @abc.abstractmethod
    def run(self, state: GoalState, tactic: str, timeout_s: float | None = None) -> TacticResult:
        """Run `tactic` from `state`. `state` may be any earlier state of this session."""

    @abc.abstractmethod
    def check(self, theorem: Theorem, proof: str, timeout_s: float | None = None) -> CheckResult:
        """Judge a whole proof script, through the backend's soundness guard."""

    @property
    @abc.abstractmethod
    def header(self) -> str | None:
        """The header every proof currently starts from (None: none loaded); the pool routes tasks by it."""

    @property
    @abc.abstractmethod
    def alive(self) -> bool:
        """Whether the underlying process can take another request."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def call_seconds(self) -> dict[str, float]:
        """Wall seconds this session has spent in each kind of call to its process so far (cumulative;
        empty where a backend does not count them). Search reports the difference as its timing breakdown."""
        return {}

    def __enter__(self) -> ProofSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


ResultCallback = Callable[[int, CheckResult], None]


class Checker(abc.ABC):
    info: CheckerInfo

    @abc.abstractmethod
    def check_batch(
        self, tasks: Sequence[ProofTask], on_result: ResultCallback | None = None
    ) -> list[CheckResult]:
        """Judge every task; results come back in input order.

        `on_result(index, result)` is called as each one finishes, so callers
        can append and flush results while the batch is still running.
        """

    def check(self, theorem: Theorem, proof: str, timeout_s: float | None = None) -> CheckResult:
        return self.check_batch([ProofTask(theorem, proof, timeout_s)])[0]

    @abc.abstractmethod
    def session(self) -> AbstractContextManager[ProofSession]:
        """Lease one session for interactive use (search); returned to the pool on exit."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Checker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
