"""The lifecycle shared by every proof session that drives a child process.

A `ProcessSession` owns at most one proof-assistant process at a time
(coqidetop, the Lean REPL, `fstar.exe --ide`). It knows which header that
process has loaded, so the pool can route a task to a session that has its
header; it counts the whole proofs it judged (`uses`), so the pool can
recycle it; and it numbers its processes (`generation`): state ids, REPL
environments and pushed fragments die with the process that made them.

A backend says how to start a process (`_spawn`), what to set up in a fresh
one (`_started`: the Coq tactic prelude, emptied state maps) and how to
judge a proof (`_check`). `restart` replaces the process by a fresh one with
nothing loaded; `close` kills it.
"""

from __future__ import annotations

import abc
from typing import ClassVar, Generic, Protocol, TypeVar

from proofsmith.checker.backend import ProofSession, SessionCrashed
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import CheckerInfo, CheckResult, Theorem


class ChildProcess(Protocol):
    @property
    def pid(self) -> int: ...

    @property
    def alive(self) -> bool: ...

    def kill(self) -> None: ...


P = TypeVar("P", bound=ChildProcess)


class ProcessSession(ProofSession, Generic[P]):
    backend: ClassVar[str]  # CheckerInfo.backend of every result

    def __init__(self, settings: CheckerSettings):
        self.settings = settings
        self.uses = 0
        self.generation = -1  # bumped by every start
        self._process: P | None = None
        self._header: str | None = None
        self._version = ""
        self._prelude = ""  # what the backend adds before every header (CheckerInfo.prelude)

    @abc.abstractmethod
    def _spawn(self) -> P:
        """Start a process and bring it to where it takes requests."""

    def _started(self) -> None:
        """Set up the fresh process in `self._process` and forget what the previous one held."""

    @abc.abstractmethod
    def _check(self, theorem: Theorem, proof: str, timeout_s: float) -> CheckResult: ...

    @property
    def info(self) -> CheckerInfo:
        return CheckerInfo(self.backend, self._version, self._prelude)

    @property
    def header(self) -> str | None:
        return self._header

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.alive

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def check(self, theorem: Theorem, proof: str, timeout_s: float | None = None) -> CheckResult:
        self.uses += 1
        return self._check(theorem, proof, timeout_s or self.settings.timeout_s)

    def _start(self) -> None:
        self.close()
        self._process = self._spawn()
        self.generation += 1
        self._started()

    def _started_process(self) -> P:
        """The process started last, alive or not (a dead one raises SessionCrashed when used)."""
        if self._process is None:
            raise SessionCrashed(f"{type(self).__name__}: no process started")
        return self._process

    def _live_process(self) -> P:
        """The process, replaced by a fresh one if it died."""
        process = self._process
        if process is None or not process.alive:
            self._start()
            process = self._process
            assert process is not None  # _start sets it or raises
        return process

    def restart(self) -> None:
        """Replace the process by a fresh one with nothing loaded."""
        self._start()

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
        self._header = None
