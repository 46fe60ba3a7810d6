"""A Lean 4 proof session over the Lean REPL: the interactive API and guarded whole-proof checks.

One REPL process serves one header: the header (`import Mathlib`, `open ...`)
runs once as the process's first command and every check and every `open`
starts from its environment, so imports are paid once per process; asking
for another header restarts the process. The pool (checker.pool) keys
sessions by `header` to keep that rare.

The REPL keeps every proof state, so going back is free: a state's handle
is a `LeanProofPoint` (header, statement and the tactics that lead to it)
and the session maps points to the REPL's proof-state numbers. After a
restart (timeout, crash, memory cap) the map is empty and a point is rebuilt
by replaying its tactics, so handles outlive the process that made them.

A whole proof is judged in two commands: the declaration with the proof
(after the guard's checks), then `#print axioms NAME` in the environment it
produced. Errors, `sorry` and axioms outside the allowed set fail it.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from proofsmith.checker.backend import CheckerUnavailable, HeaderError, SessionCrashed
from proofsmith.checker.lean import guard
from proofsmith.checker.lean.goals import parse_goal
from proofsmith.checker.lean.process import LeanMemoryExceeded, LeanRepl, LeanTimeout
from proofsmith.checker.lean.protocol import ProofStatus, ProofStepResponse, ReplError
from proofsmith.checker.process_session import ProcessSession
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import (
    CheckResult,
    GoalState,
    NextState,
    ProofFinished,
    TacticError,
    TacticResult,
    TacticTimeout,
    Theorem,
    Verdict,
)

INSTALL_HINT = (
    "To check Lean proofs on this machine: install elan "
    "(curl -sSf https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh | sh); "
    "make a Mathlib project (lake new proj math && cd proj && lake exe cache get); "
    "build the REPL at the project's Lean version (git clone https://github.com/leanprover-community/repl "
    "&& cd repl && git checkout <tag from proj/lean-toolchain> && lake build); then set "
    "PROOFSMITH_LEAN_REPL=/path/to/repl/.lake/build/bin/repl and PROOFSMITH_LEAN_PROJECT_DIR=/path/to/proj. "
    "Or check on a Kimina Lean Server: --backend kimina with PROOFSMITH_KIMINA_URL."
)


def repl_command(settings: CheckerSettings) -> tuple[list[str], str | None]:
    """The argv and working directory of a REPL process; CheckerUnavailable says what is missing."""
    repl = str(Path(settings.lean_repl).expanduser())
    if settings.lean_project_dir is None:
        resolved = shutil.which(repl)
        if resolved is None:
            raise CheckerUnavailable(f"the Lean REPL {settings.lean_repl!r} was not found. {INSTALL_HINT}")
        return [resolved, *settings.lean_repl_args], None
    project = Path(settings.lean_project_dir).expanduser()
    if not project.is_dir():
        raise CheckerUnavailable(f"PROOFSMITH_LEAN_PROJECT_DIR={project} is not a directory. {INSTALL_HINT}")
    lake = shutil.which("lake")
    if lake is None:
        raise CheckerUnavailable(f"`lake` is not on PATH. {INSTALL_HINT}")
    resolved = shutil.which(repl, path=str(project)) if "/" in repl else shutil.which(repl)
    if resolved is None and not Path(repl).is_file():
        raise CheckerUnavailable(f"the Lean REPL {settings.lean_repl!r} was not found. {INSTALL_HINT}")
    return [lake, "env", resolved or repl, *settings.lean_repl_args], str(project)


def toolchain_version(settings: CheckerSettings) -> str:
    """The Lean version from the project's (or the REPL checkout's) `lean-toolchain` file."""
    candidates = []
    if settings.lean_project_dir:
        candidates.append(Path(settings.lean_project_dir).expanduser() / "lean-toolchain")
    repl = Path(settings.lean_repl).expanduser()
    if repl.is_file() and len(repl.parents) > 3:
        candidates.append(repl.parents[3] / "lean-toolchain")  # <repl>/.lake/build/bin/repl
    for path in candidates:
        try:
            return path.read_text().strip().rsplit(":", 1)[-1]
        except OSError:
            continue
    return "unknown"


@dataclass(frozen=True)
class LeanProofPoint:
    header: str
    statement: str  # the declaration, without `:= ...`
    name: str | None
    tactics: tuple[str, ...]


def _repl_error_text(error: ReplError) -> str:
    return error.message.removeprefix("Lean error:\n")


def step_error(response: ProofStepResponse | ReplError) -> str | None:
    """Why a tactic step failed, or None when it produced a usable proof state."""
    if isinstance(response, ReplError):
        return _repl_error_text(response)
    if response.errors():
        return response.errors()[0].data
    if response.uses_sorry():
        return "rejected: the tactic left a sorry"
    status = response.proof_status or ""
    if status.startswith(ProofStatus.ERROR_PREFIX):
        return status
    if not response.goals and status == ProofStatus.METAVARIABLES:
        return "no goals are left but the proof term still has unassigned metavariables"
    return None


class LeanSession(ProcessSession[LeanRepl]):
    backend = "lean"

    def __init__(self, settings: CheckerSettings | None = None):
        super().__init__(settings or CheckerSettings())
        self._argv, self._cwd = repl_command(self.settings)
        self._version = toolchain_version(self.settings)
        self._header_env: int | None = None
        self._header_axioms: frozenset[str] = frozenset()
        self._states: dict[LeanProofPoint, tuple[int, tuple[str, ...]]] = {}
        self._start()

    # ------------------------------------------------------------ process

    def _spawn(self) -> LeanRepl:
        try:
            return LeanRepl(self._argv, self._cwd, self.settings.lean_memory_mb)
        except SessionCrashed as exc:
            raise CheckerUnavailable(f"{exc}. {INSTALL_HINT}") from None

    def _started(self) -> None:
        self._header_env = None
        self._states.clear()

    def load_header(self, header: str) -> int | None:
        """The environment every proof starts from (None: a fresh one per command, for an empty header)."""
        if header == self._header and self.alive:
            return self._header_env
        if self._header is not None or not self.alive:
            self.restart()
        repl = self._started_process()
        env = None
        if header.strip():
            response = repl.command(header, timeout_s=self.settings.lean_header_timeout_s)
            if isinstance(response, ReplError):
                raise HeaderError(_repl_error_text(response))
            if response.errors():
                raise HeaderError(guard.first_error(response))
            env = response.env
        self._header, self._header_env = header, env
        self._header_axioms = guard.declared_axioms(header)
        return env

    # ------------------------------------------------------------ interactive API

    def _goal_state(self, point: LeanProofPoint, goals: tuple[str, ...]) -> GoalState:
        return GoalState(
            handle=point,
            goals=tuple(parse_goal(g) for g in goals),
            text="\n\n".join(goals) if goals else "no goals",
        )

    def _open_point(self, point: LeanProofPoint, timeout_s: float) -> tuple[int, tuple[str, ...]]:
        env = self.load_header(point.header)
        response = self._live_process().command(f"{point.statement} := by sorry", env, timeout_s)
        if isinstance(response, ReplError):
            raise ValueError(f"statement does not compile: {_repl_error_text(response)}")
        if response.errors():
            raise ValueError(f"statement does not compile: {guard.first_error(response)}")
        roots = [(s.proof_state, s.goal) for s in response.sorries if s.proof_state is not None]
        if len(roots) != 1:
            raise ValueError(f"expected one proof to open, the statement gave {len(roots)}")
        proof_state, goal = roots[0]
        return proof_state, (goal,)

    def _resolve(self, point: LeanProofPoint, timeout_s: float) -> tuple[int, tuple[str, ...]]:
        """The REPL proof state of `point`, rebuilt by replay when this process never made it."""
        known = self._states.get(point)
        if known is not None and self.alive:
            return known
        if not point.tactics:
            found = self._open_point(point, timeout_s)
        else:
            parent = LeanProofPoint(point.header, point.statement, point.name, point.tactics[:-1])
            parent_state, _ = self._resolve(parent, timeout_s)
            response = self._live_process().tactic(point.tactics[-1], parent_state, timeout_s)
            error = step_error(response)
            if error is not None or isinstance(response, ReplError):  # step_error names every ReplError
                raise ValueError(f"replaying {point.tactics[-1]!r} failed: {error}")
            found = (response.proof_state, tuple(response.goals))
        self._states[point] = found
        return found

    def open(self, theorem: Theorem, timeout_s: float | None = None) -> GoalState:
        timeout_s = timeout_s or self.settings.timeout_s
        try:
            parsed = guard.parse_statement(theorem.statement)
        except guard.GuardRejection as exc:
            raise ValueError(f"{theorem.name}: {exc}") from None
        point = LeanProofPoint(theorem.header, parsed.text, parsed.name, ())
        try:
            _, goals = self._resolve(point, timeout_s)
        except HeaderError as exc:
            raise ValueError(f"{theorem.name}: header does not compile: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"{theorem.name}: {exc}") from None
        return self._goal_state(point, goals)

    def run(self, state: GoalState, tactic: str, timeout_s: float | None = None) -> TacticResult:
        point = state.handle
        if not isinstance(point, LeanProofPoint):
            raise TypeError("run() needs a GoalState produced by a LeanSession")
        if not tactic.strip():
            return TacticError("rejected: empty tactic")
        try:
            guard.check_code(tactic, self.settings.lean_allow_native_decide, what="tactic")
        except guard.GuardRejection as exc:
            return TacticError(f"rejected: {exc}")
        if point.name is not None and guard.mentions(tactic, point.name):
            # Inside its own proof the theorem is a local hypothesis: `exact ex` closes
            # `theorem ex : False` at the goal level, only the kernel refuses it
            # (recorded in self_proof_exact_check), and REPLs before v4.19 do not ask the kernel.
            return TacticError(f"rejected: the tactic uses {point.name!r}, the theorem being proved")
        timeout_s = timeout_s or self.settings.timeout_s
        try:
            proof_state, _ = self._resolve(point, timeout_s)
            response = self._started_process().tactic(tactic, proof_state, timeout_s)
        except LeanTimeout:
            return TacticTimeout(f"tactic did not finish in {timeout_s:g} s")
        except SessionCrashed as exc:
            return TacticError(f"checker crashed: {exc}")
        except ValueError as exc:
            return TacticError(f"cannot restore the state: {exc}")
        error = step_error(response)
        if error is not None or isinstance(response, ReplError):  # step_error names every ReplError
            return TacticError(error or "REPL error")
        goals = tuple(response.goals)
        new_point = LeanProofPoint(point.header, point.statement, point.name, point.tactics + (tactic,))
        self._states[new_point] = (response.proof_state, goals)
        new_state = self._goal_state(new_point, goals)
        return ProofFinished(new_state) if response.finished() else NextState(new_state)

    # ------------------------------------------------------------ whole proofs

    def _check(self, theorem: Theorem, proof: str, timeout_s: float) -> CheckResult:
        t0 = time.monotonic()
        allow_native = self.settings.lean_allow_native_decide

        def result(verdict: Verdict, reason: str = "", axioms: tuple[str, ...] = (), messages=()) -> CheckResult:
            return CheckResult(verdict, reason, axioms, time.monotonic() - t0, tuple(messages), self.info)

        try:
            parsed = guard.parse_statement(theorem.statement)
        except guard.GuardRejection as exc:
            return result(Verdict.ERROR, f"bad statement: {exc}")
        if parsed.name is None:
            return result(Verdict.ERROR, "bad statement: an `example` has no name for #print axioms; use `theorem NAME`")
        try:
            command = guard.proof_command(parsed, theorem.header, proof, allow_native)
        except guard.GuardRejection as exc:
            return result(Verdict.FAILED, f"rejected: {exc}")
        try:
            try:
                env = self.load_header(theorem.header)
            except HeaderError as exc:
                return result(Verdict.ERROR, f"header does not compile: {exc}")
            except LeanTimeout:
                limit = self.settings.lean_header_timeout_s
                return result(Verdict.TIMEOUT, f"the header did not load within {limit:g} s; REPL killed")
            deadline = time.monotonic() + timeout_s  # the header's imports do not count against the proof
            response = self._started_process().command(command, env, timeout_s)
            if isinstance(response, ReplError):
                return result(Verdict.ERROR, f"REPL error: {response.message}")
            messages = [m.located() for m in response.messages]
            failure = guard.proof_failure(response)
            if failure is not None:
                return result(Verdict.FAILED, failure, messages=messages)
            remaining = max(deadline - time.monotonic(), 0.001)
            printed = self._started_process().command(parsed.print_axioms, response.env, remaining)
            if isinstance(printed, ReplError):
                return result(Verdict.ERROR, f"REPL error: {printed.message}", messages=messages)
            if printed.errors():
                return result(Verdict.FAILED, f"{parsed.print_axioms}: {guard.first_error(printed)}", messages=messages)
            verdict, reason, axioms = guard.axiom_verdict(
                printed.messages, parsed.name, self.settings.lean_allowed_axioms, self._header_axioms, allow_native
            )
            return result(verdict, reason, axioms, messages)
        except LeanTimeout:
            return result(Verdict.TIMEOUT, f"no verdict within {timeout_s:g} s; REPL killed")
        except LeanMemoryExceeded as exc:
            return result(Verdict.ERROR, str(exc))
        except SessionCrashed as exc:
            return result(Verdict.ERROR, f"checker crashed: {exc}")
