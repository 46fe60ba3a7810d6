"""One coqidetop process: send a call, read its reply, with a deadline.

On a deadline the process is interrupted (SIGINT makes Coq abandon the
running command and answer "User interrupt"); if it does not answer within a
grace period it is killed. Either way the caller learns which happened,
because a killed process takes every state id with it.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from collections.abc import Sequence

from proofsmith.checker.backend import SessionCrashed
from proofsmith.checker.coq.protocol import VALUE_END, Reply, about_call, parse_reply
from proofsmith.checker.piped_process import PipedProcess
from proofsmith.checker.settings import CheckerSettings
from proofsmith.formats.coq_load_path import LoadPath

INTERRUPT_GRACE_S = 2.0


class CoqTimeout(Exception):
    def __init__(self, recovered: bool):
        super().__init__("Coq did not answer in time" + ("" if recovered else "; process killed"))
        self.recovered = recovered


def coqidetop_argv(settings: CheckerSettings, extra: Sequence[str] = ()) -> list[str]:
    """coqidetop speaking XML on stdin/stdout, every sentence run when it is observed (no worker processes)."""
    # folders made absolute: the process runs in a folder of its own
    flags = LoadPath.from_coq_args([*settings.coq_args, *extra]).coq_args()
    return [settings.coq_binary, "-main-channel", "stdfds", "-async-proofs", "off", "-q", *flags]


class CoqProcess(PipedProcess):
    name = "coqidetop"

    def __init__(self, argv: list[str], memory_mb: int, stack_mb: int | None = None):
        # A folder of its own: tactics such as lia write caches (.lia.cache) into the working folder,
        # and native_compute its Coq_native* folders into TMPDIR: both land here and go with the process.
        self._cwd = tempfile.mkdtemp(prefix="proofsmith-coq-")
        argv = ["env", f"TMPDIR={self._cwd}", *argv]
        try:
            super().__init__(argv, cwd=self._cwd, address_space_mb=memory_mb, stack_mb=stack_mb)
        except BaseException:
            shutil.rmtree(self._cwd, ignore_errors=True)
            raise

    def call(self, xml: str, timeout_s: float | None) -> Reply:
        self._write(xml)
        deadline = None if timeout_s is None else time.monotonic() + max(timeout_s, 0.0)
        raw = self._read_reply(deadline)
        if raw is None:
            raise CoqTimeout(recovered=self._interrupt())
        return parse_reply(raw)

    def _read_reply(self, deadline: float | None) -> bytes | None:
        body = self._read_frame(VALUE_END, deadline)
        return None if body is None else body + VALUE_END

    def _interrupt(self) -> bool:
        """Interrupt the running command; True if Coq is responsive again."""
        try:
            self._proc.send_signal(signal.SIGINT)
            grace = time.monotonic() + INTERRUPT_GRACE_S
            if self._read_reply(grace) is None:
                self.kill()
                return False
            # An interrupt that arrived after Coq had already answered is
            # delivered to the next call instead: absorb it with cheap calls.
            for _ in range(2):
                self._write(about_call())
                raw = self._read_reply(time.monotonic() + INTERRUPT_GRACE_S)
                if raw is None:
                    self.kill()
                    return False
                if parse_reply(raw).ok:
                    return True
            self.kill()
            return False
        except (SessionCrashed, OSError):
            self.kill()
            return False

    def kill(self) -> None:
        super().kill()
        shutil.rmtree(self._cwd, ignore_errors=True)
