"""One Lean REPL process: typed requests in, typed responses out, with a deadline and a memory cap.

The REPL cannot be interrupted, so a request that overruns its deadline kills
the process; so does one during which the process tree's resident memory
exceeds the cap (checker.piped_process samples it while waiting). Either way
every environment and proof state of the process is gone, which the caller
learns from the exception and from `generation` changing on restart.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

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
from proofsmith.checker.piped_process import PipedProcess


class LeanTimeout(SessionCrashed):
    """The REPL did not answer in time; it has been killed (it cannot be interrupted)."""


class LeanMemoryExceeded(SessionCrashed):
    """The REPL went over its memory cap; it has been killed."""


class LeanRepl(PipedProcess):
    name = "the Lean REPL"
    stderr_title = "REPL stderr"
    memory_error = LeanMemoryExceeded

    def __init__(self, argv: Sequence[str], cwd: str | None = None, memory_mb: int | None = None):
        try:
            super().__init__(argv, cwd=cwd, memory_mb=memory_mb)
        except OSError as exc:
            raise SessionCrashed(f"cannot start the Lean REPL {self.argv[0]!r}: {exc}") from None

    # ------------------------------------------------------------ requests

    def command(self, cmd: str, env: int | None = None, timeout_s: float | None = None, **options) -> CommandResponse | ReplError:
        return self._command(CommandRequest(cmd=cmd, env=env, **options), timeout_s)

    def file(self, path: str, timeout_s: float | None = None, **options) -> CommandResponse | ReplError:
        return self._command(FileRequest(path=path, **options), timeout_s)

    def tactic(self, tactic: str, proof_state: int, timeout_s: float | None = None) -> ProofStepResponse | ReplError:
        return self._step(TacticRequest(tactic=tactic, proof_state=proof_state), timeout_s)

    def pickle_env(self, env: int, path: str, timeout_s: float | None = None) -> CommandResponse | ReplError:
        return self._command(PickleEnvRequest(pickle_to=path, env=env), timeout_s)

    def unpickle_env(self, path: str, timeout_s: float | None = None) -> CommandResponse | ReplError:
        return self._command(UnpickleEnvRequest(unpickle_env_from=path), timeout_s)

    def pickle_proof_state(self, proof_state: int, path: str, timeout_s: float | None = None) -> ProofStepResponse | ReplError:
        return self._step(PickleProofStateRequest(pickle_to=path, proof_state=proof_state), timeout_s)

    def unpickle_proof_state(self, path: str, env: int | None = None, timeout_s: float | None = None) -> ProofStepResponse | ReplError:
        return self._step(UnpickleProofStateRequest(unpickle_proof_state_from=path, env=env), timeout_s)

    def _command(self, request: ReplRequest, timeout_s: float | None) -> CommandResponse | ReplError:
        response = self.request(request, timeout_s)
        if isinstance(response, ProofStepResponse):
            self.kill()
            raise SessionCrashed(f"the Lean REPL answered a command with a proof step{self.stderr_note()}")
        return response

    def _step(self, request: ReplRequest, timeout_s: float | None) -> ProofStepResponse | ReplError:
        response = self.request(request, timeout_s)
        if isinstance(response, CommandResponse):
            self.kill()
            raise SessionCrashed(f"the Lean REPL answered a proof step with a command response{self.stderr_note()}")
        return response

    def request(self, request: ReplRequest, timeout_s: float | None = None) -> Response:
        """Send one request and parse its answer. Raises LeanTimeout,
        LeanMemoryExceeded or SessionCrashed; after any of them the process is dead."""
        self._write(request.wire())
        deadline = None if timeout_s is None else time.monotonic() + max(timeout_s, 0.0)
        block = self._read_block(deadline)
        try:
            return parse_response(request, block)
        except ProtocolError as exc:
            self.kill()
            raise SessionCrashed(f"{exc}{self.stderr_note()}") from None

    # ------------------------------------------------------------ reading

    def _read_block(self, deadline: float | None) -> str:
        """The next response: the REPL ends each with a blank line (and may put blank lines before one)."""
        while True:
            block = self._read_frame(b"\n\n", deadline)
            if block is None:
                self.kill()
                raise LeanTimeout("the Lean REPL did not answer in time; process killed")
            block = block.lstrip(b"\r\n")
            if block:
                return block.decode("utf-8", errors="replace")
