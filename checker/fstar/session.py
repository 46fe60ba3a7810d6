"""An F* session over `fstar.exe --ide`: program-fragment checking as in the FStarDataSet harness.

A check (checker.fstar.target says where): the base is loaded once per file
and definition (`push-partial-checked-file {"until-lid": NAME}`) or per
scratch header (`vfs-add` and `push` of the header), kept while consecutive
candidates share it; the candidate, after the guard (checker.fstar.guard),
is pushed in full mode and, when F* accepted it, popped again, so nothing a
candidate declares survives into the next one. Verdicts: checker.fstar.verdict.

F* is started per file (`--ide FILE --report_assumes warn --include ...`), so
a session serves one file at a time and starts a new process when the next
theorem lives elsewhere; the pool (checker.pool) keys sessions by `header`,
which for the dataset's problems is the file's scaffolding, so problems of
one file go to the session that has it.

The interactive API is what F* has: its unit is a top-level declaration, not
a tactic, and `--ide` offers no step-by-step proof states (a `proof-state`
message only comes with a tactic failure or a `dump`). So `open` loads the
base and checks the statement (a `peek`, which rolls itself back); the state
has one goal, the definition's type; `run` takes a whole candidate
definition and answers finished or error, with the goals of any proof-state
F* sent rendered into the error. Going back is free: every run starts from
the opening state.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from proofsmith.checker.backend import CheckerUnavailable, HeaderError, SessionCrashed
from proofsmith.checker.fstar import guard
from proofsmith.checker.fstar.goals import definition_goal
from proofsmith.checker.fstar.process import FStarIde, FStarMemoryExceeded, FStarTimeout
from proofsmith.checker.fstar.protocol import IssuesResponse, Peek, Pop, Push, PushPartialCheckedFile, VfsAdd
from proofsmith.checker.fstar.target import FStarTarget, target_of
from proofsmith.checker.fstar.verdict import Judgement, judge_push
from proofsmith.checker.process_session import ProcessSession
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import (
    CheckResult,
    GoalState,
    ProofFinished,
    TacticError,
    TacticResult,
    TacticTimeout,
    Theorem,
    Verdict,
)

INSTALL_HINT = (
    "To check F* definitions on this machine, install F* with its Z3: a binary release from "
    "https://github.com/FStarLang/FStar/releases (unpack it and put its bin/ on PATH) or `opam install fstar`; "
    "`fstar.exe --version` must work (PROOFSMITH_FSTAR_BINARY names another executable). "
    "For FStarDataSet problems use the F* the dataset was built with (its harness names F* 2023.09.03~dev) and "
    "point PROOFSMITH_FSTAR_INCLUDE at the dataset's support files (sources and .checked files), "
    "e.g. PROOFSMITH_FSTAR_INCLUDE='[\"/data/fstar/helpers/support_files\"]'."
)
POP_TIMEOUT_S = 60.0
VERSION_TIMEOUT_S = 60.0


def fstar_command(settings: CheckerSettings) -> list[str]:
    """The executable and the user's extra arguments; CheckerUnavailable with the install hint when missing."""
    binary = str(Path(settings.fstar_binary).expanduser())
    resolved = shutil.which(binary)
    if resolved is None:
        raise CheckerUnavailable(f"F* ({settings.fstar_binary!r}) was not found. {INSTALL_HINT}")
    return [resolved, *settings.fstar_args]


def fstar_version(command: list[str], cwd: str | None = None) -> str:
    """The first line of `fstar.exe --version` (e.g. "F* 2023.09.03~dev"), or "unknown"."""
    return _version(tuple(command), cwd)


@functools.lru_cache(maxsize=16)
def _version(command: tuple[str, ...], cwd: str | None) -> str:
    try:
        done = subprocess.run([*command, "--version"], cwd=cwd, capture_output=True, text=True,
                              timeout=VERSION_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = done.stdout.strip().splitlines()
    return lines[0].strip() if done.returncode == 0 and lines else "unknown"


@dataclass(frozen=True)
class FStarPoint:
    """A state of the interactive API: the definition to write and, once written, the candidate."""

    target: FStarTarget
    candidate: str | None = None


class FStarSession(ProcessSession[FStarIde]):
    backend = "fstar"

    def __init__(self, settings: CheckerSettings | None = None):
        super().__init__(settings or CheckerSettings())
        self._command = fstar_command(self.settings)
        self._version = fstar_version(self._command, self.settings.fstar_cwd)
        self._file: str | None = None
        self._base: tuple[str, str, str] | None = None

    # ------------------------------------------------------------ process

    @property
    def alive(self) -> bool:
        """False once the process died or was killed (a fresh session has none yet and can start one)."""
        return self._process is None or self._process.alive

    @property
    def protocol_version(self) -> int | None:
        return self._process.protocol.version if self._process else None

    def argv(self, file: str) -> list[str]:
        includes = [arg for directory in self.settings.fstar_include for arg in ("--include", directory)]
        return [*self._command, "--ide", file, "--report_assumes", "warn", *includes]

    def _spawn(self) -> FStarIde:
        if self._file is None:  # F* runs on a file: load_base names it first
            raise SessionCrashed("F* was started before a file was chosen")
        return FStarIde(self.argv(self._file), self.settings.fstar_cwd, self.settings.fstar_memory_mb,
                        handshake_timeout_s=self.settings.fstar_prefix_timeout_s)

    def _started(self) -> None:
        self._base = None

    def _start_on(self, file: str) -> None:
        self._file = file
        self._start()

    def restart(self) -> None:
        """A fresh process on the same file (nothing loaded); the next check loads its base again."""
        if self._file is None:
            self.close()
        else:
            super().restart()

    def _live_ide(self) -> FStarIde:
        if self._process is None or not self._process.alive:
            raise SessionCrashed("F* is not running")
        return self._process

    def load_base(self, target: FStarTarget) -> None:
        """Make `target`'s base the bottom of F*'s stack; cheap when it already is."""
        timeout = self.settings.fstar_prefix_timeout_s
        if self._process is None or not self._process.alive or self._file != target.file:
            self._start_on(target.file)
        elif self._base == target.base_key:
            return
        elif self._base is not None:
            popped = self._process.answer(Pop(), POP_TIMEOUT_S)
            self._base = self._header = None
            if not popped.response.ok:
                self._start_on(target.file)
        ide = self._live_ide()
        if target.checked:
            answer = ide.answer(PushPartialCheckedFile(until_lid=target.name), timeout)
            failure = _load_failure(answer.response)
            if failure is not None:
                raise HeaderError(f"cannot load the checked prefix of {target.file} up to {target.name}: {failure}")
        else:
            added = ide.answer(VfsAdd(filename=None, contents=target.scratch_prefix), timeout)
            if not added.response.ok:
                raise HeaderError(f"F* refused the header as {target.file}: {added.response.failure_text()}")
            answer = ide.answer(Push(kind="full", code=target.scratch_prefix, line=1, column=0), timeout)
            failure = _load_failure(answer.response)
            if failure is not None:
                raise HeaderError(f"the header does not check: {failure}")
        self._base = target.base_key
        self._header = target.header

    # ------------------------------------------------------------ checking

    def _check(self, theorem: Theorem, proof: str, timeout_s: float) -> CheckResult:
        t0 = time.monotonic()
        try:
            target = target_of(theorem)
        except ValueError as exc:
            return CheckResult(Verdict.ERROR, f"bad problem: {exc}", time_s=time.monotonic() - t0, checker=self.info)
        judgement = self._check_target(target, proof, timeout_s)
        return CheckResult(judgement.verdict, judgement.reason, (), time.monotonic() - t0, judgement.messages, self.info)

    def _check_target(self, target: FStarTarget, proof: str, timeout_s: float) -> Judgement:
        try:
            candidate = guard.check_candidate(target, proof)
        except guard.GuardRejection as exc:
            return Judgement(Verdict.FAILED, f"rejected: {exc}", ())
        try:
            try:
                self.load_base(target)
            except HeaderError as exc:
                return Judgement(Verdict.ERROR, str(exc), ())
            except FStarTimeout:
                limit = self.settings.fstar_prefix_timeout_s
                return Judgement(Verdict.TIMEOUT, f"the base of {target.name} did not load within {limit:g} s; F* killed", ())
            code, line = target.snippet(candidate.code)
            answer = self._live_ide().answer(Push(kind="full", code=code, line=line, column=0), timeout_s)
            judgement = judge_push(answer, self.settings.fstar_assume_warnings)
            if answer.response.ok:
                self._pop_candidate()
            return judgement
        except FStarTimeout as exc:
            said = tuple(m.contents for m in exc.messages if isinstance(m.contents, str))
            return Judgement(Verdict.TIMEOUT, f"no verdict within {timeout_s:g} s; F* killed", said)
        except FStarMemoryExceeded as exc:
            return Judgement(Verdict.ERROR, str(exc), ())
        except SessionCrashed as exc:
            return Judgement(Verdict.ERROR, f"checker crashed: {exc}", ())

    def _pop_candidate(self) -> None:
        """Take the accepted candidate off the stack; if F* will not, the stack is unknown: kill it."""
        try:
            popped = self._live_ide().answer(Pop(), POP_TIMEOUT_S)
        except SessionCrashed:
            self._base = None
            return
        if not popped.response.ok:
            self.close()

    # ------------------------------------------------------------ interactive API

    def open(self, theorem: Theorem, timeout_s: float | None = None) -> GoalState:
        timeout_s = timeout_s or self.settings.timeout_s
        try:
            target = target_of(theorem)
            self.load_base(target)
        except ValueError as exc:
            raise ValueError(f"{theorem.name}: {exc}") from None
        if target.statement:
            code, line = target.snippet("")
            answer = self._live_ide().answer(Peek(kind="lax", code=code, line=line, column=0), timeout_s)
            failure = _load_failure(answer.response)
            if failure is not None:
                raise ValueError(f"{theorem.name}: the statement does not check: {failure}")
        goal = definition_goal(target.statement, target.short_name)
        return GoalState(FStarPoint(target), (goal,), target.statement or goal.target)

    def run(self, state: GoalState, tactic: str, timeout_s: float | None = None) -> TacticResult:
        point = state.handle
        if not isinstance(point, FStarPoint):
            raise TypeError("run() needs a GoalState produced by an FStarSession")
        if point.candidate is not None:
            return TacticError("the definition is already complete; F* has no further steps (run from the opening state)")
        judgement = self._check_target(point.target, tactic, timeout_s or self.settings.timeout_s)
        if judgement.verdict is Verdict.PROVED:
            return ProofFinished(GoalState(FStarPoint(point.target, tactic), (), "no goals"))
        if judgement.verdict is Verdict.TIMEOUT:
            return TacticTimeout(judgement.reason)
        details = "\n".join(m for m in judgement.messages if m.startswith("proof state"))
        return TacticError(judgement.reason + (f"\n{details}" if details else ""))


def _load_failure(response) -> str | None:
    """Why loading a base (or peeking a statement) failed, or None."""
    if isinstance(response, IssuesResponse):
        errors = response.errors()
        if errors:
            return errors[0].located() + (f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else "")
    if not response.ok:
        return response.failure_text() or f"status {response.status}"
    return None
