"""One Lean REPL process: typed requests in, typed responses out, with a deadline and a memory cap.

The REPL cannot be interrupted, so a request that overruns its deadline kills
the process; so does one during which the process tree's resident memory
exceeds the cap (sampled every `MEMORY_POLL_S` while waiting). Either way
every environment and proof state of the process is gone, which the caller
learns from the exception and from `generation` changing on restart.
"""

from __future__ import annotations

import collections
import os
import select
import subprocess
import threading
import time
from typing import Sequence

import psutil

from proofsmith.checker import child_process
from proofsmith.checker.backend import SessionCrashed
from proofsmith.checker.lean.protocol import (
    CommandRequest,
    CommandResponse,
    FileRequest,
    PickleEnvRequest,
    PickleProofStateRequest,
    ProofStepResponse,
    ProtocolError,
    ReplError,
    ReplRequest,
    Response,
    TacticRequest,
    UnpickleEnvRequest,
    UnpickleProofStateRequest,
    parse_response,
)

MEMORY_POLL_S = 0.2
STDERR_TAIL_LINES = 20


class LeanTimeout(SessionCrashed):
    """The REPL did not answer in time; it has been killed (it cannot be interrupted)."""


class LeanMemoryExceeded(SessionCrashed):
    """The REPL went over its memory cap; it has been killed."""


class LeanRepl:
    def __init__(self, argv: Sequence[str], cwd: str | None = None, memory_mb: int | None = None):
        self.argv = list(argv)
        self.memory_mb = memory_mb
        try:
            self._proc = child_process.spawn(self.argv, cwd=cwd, stderr=subprocess.PIPE)
        except OSError as exc:
            raise SessionCrashed(f"cannot start the Lean REPL {self.argv[0]!r}: {exc}") from None
        self._buffer = b""
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()
        self._ps = psutil.Process(self._proc.pid)

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    # ------------------------------------------------------------ requests

    def command(self, cmd: str, env: int | None = None, timeout_s: float | None = None, **options) -> CommandResponse | ReplError:
        return self.request(CommandRequest(cmd=cmd, env=env, **options), timeout_s)

    def file(self, path: str, timeout_s: float | None = None, **options) -> CommandResponse | ReplError:
        return self.request(FileRequest(path=path, **options), timeout_s)

    def tactic(self, tactic: str, proof_state: int, timeout_s: float | None = None) -> ProofStepResponse | ReplError:
        return self.request(TacticRequest(tactic=tactic, proof_state=proof_state), timeout_s)

    def pickle_env(self, env: int, path: str, timeout_s: float | None = None) -> CommandResponse | ReplError:
        return self.request(PickleEnvRequest(pickle_to=path, env=env), timeout_s)

    def unpickle_env(self, path: str, timeout_s: float | None = None) -> CommandResponse | ReplError:
        return self.request(UnpickleEnvRequest(unpickle_env_from=path), timeout_s)

    def pickle_proof_state(self, proof_state: int, path: str, timeout_s: float | None = None) -> ProofStepResponse | ReplError:
        return self.request(PickleProofStateRequest(pickle_to=path, proof_state=proof_state), timeout_s)

    def unpickle_proof_state(self, path: str, env: int | None = None, timeout_s: float | None = None) -> ProofStepResponse | ReplError:
        return self.request(UnpickleProofStateRequest(unpickle_proof_state_from=path, env=env), timeout_s)

    def request(self, request: ReplRequest, timeout_s: float | None = None) -> Response:
        """Send one request and parse its answer. Raises LeanTimeout,
        LeanMemoryExceeded or SessionCrashed; after any of them the process is dead."""
        if not self.alive:
            raise SessionCrashed(self._death_note())
        try:
            self._proc.stdin.write(request.wire().encode())
            self._proc.stdin.flush()
        except OSError:
            raise SessionCrashed(self._death_note()) from None
        deadline = None if timeout_s is None else time.monotonic() + max(timeout_s, 0.0)
        block = self._read_block(deadline)
        try:
            return parse_response(request, block)
        except ProtocolError as exc:
            self.kill()
            raise SessionCrashed(f"{exc}{self._stderr_note()}") from None

    # ------------------------------------------------------------ reading

    def _read_block(self, deadline: float | None) -> str:
        fd = self._proc.stdout.fileno()
        while True:
            self._buffer = self._buffer.lstrip(b"\r\n")
            end = self._buffer.find(b"\n\n")
            if end != -1:
                block, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
                return block.decode("utf-8", errors="replace")
            wait = MEMORY_POLL_S if deadline is None else min(MEMORY_POLL_S, deadline - time.monotonic())
            if wait <= 0:
                self.kill()
                raise LeanTimeout("the Lean REPL did not answer in time; process killed")
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                self._check_memory()
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                raise SessionCrashed(self._death_note())
            self._buffer += chunk

    def _check_memory(self) -> None:
        if self.memory_mb is None:
            return
        rss = self.resident_mb()
        if rss > self.memory_mb:
            self.kill()
            raise LeanMemoryExceeded(f"the Lean REPL used {rss:.0f} MB, over the cap of {self.memory_mb} MB; process killed")

    def resident_mb(self) -> float:
        """Resident memory of the REPL and its children (`lake env` runs the REPL as a child)."""
        try:
            processes = [self._ps] + self._ps.children(recursive=True)
        except psutil.Error:
            return 0.0
        total = 0
        for p in processes:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total / (1024 * 1024)

    def _drain_stderr(self) -> None:
        for line in iter(self._proc.stderr.readline, b""):
            self._stderr.append(line.decode("utf-8", errors="replace").rstrip())

    def _stderr_note(self) -> str:
        self._stderr_thread.join(timeout=0.5)
        tail = "\n".join(self._stderr)
        return f"\nREPL stderr:\n{tail}" if tail else ""

    def _death_note(self) -> str:
        return child_process.exit_note(self._proc, "the Lean REPL") + self._stderr_note()

    def kill(self) -> None:
        child_process.kill(self._proc)
