"""A proof assistant's process spoken to over its pipes: requests to stdin, replies read from stdout.

What coqidetop, the Lean REPL and `fstar.exe --ide` have in common: a
request is written (a process found dead, or one whose stdin is gone, raises
SessionCrashed with why it died); a reply is read up to its delimiter within
a deadline, and what a missed deadline means is the backend's (Coq
interrupts, the Lean REPL and F* are killed); while waiting, the resident
memory of the whole process tree (`lake env` runs the REPL as a child, F*
starts Z3 processes) is sampled every `MEMORY_POLL_S` against an optional
cap, and going over kills the process; stderr, where kept, is drained into a
short tail that crash messages quote.
"""

from __future__ import annotations

import collections
import logging
import os
import select
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import ClassVar

import psutil

from proofsmith.checker import child_process
from proofsmith.checker.backend import SessionCrashed

log = logging.getLogger(__name__)

MEMORY_POLL_S = 0.2
STDERR_TAIL_LINES = 20


class PipedProcess:
    name: ClassVar[str]  # the process in messages: "coqidetop", "the Lean REPL", "F*"
    stderr_title: ClassVar[str | None] = None  # heads the stderr tail in messages; None: stderr is discarded
    memory_error: ClassVar[type[SessionCrashed]] = SessionCrashed  # raised over the memory cap

    def __init__(self, argv: Sequence[str], *, cwd: str | None = None, memory_mb: int | None = None,
                 address_space_mb: int | None = None, stack_mb: int | None = None):
        """`memory_mb` caps the resident memory of the process tree; `address_space_mb` and
        `stack_mb` are limits the kernel enforces on the process itself."""
        self.argv = list(argv)
        self.cwd = cwd
        self.memory_mb = memory_mb
        self.address_space_mb = address_space_mb
        self.stack_mb = stack_mb
        self._spawn()

    def _spawn(self) -> None:
        """Start the process (OSError when it cannot be)."""
        self._proc = child_process.spawn(
            self.argv, cwd=self.cwd, address_space_mb=self.address_space_mb, stack_mb=self.stack_mb,
            stderr=subprocess.DEVNULL if self.stderr_title is None else subprocess.PIPE,
        )
        if self._proc.stdin is None or self._proc.stdout is None:  # spawn always pipes both
            raise OSError(f"{self.argv[0]}: started without pipes")
        self._stdin, self._stdout = self._proc.stdin, self._proc.stdout
        self._ps = psutil.Process(self._proc.pid)
        self._buffer = b""
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._stderr_thread: threading.Thread | None = None
        if self.stderr_title is not None:
            self._stderr_thread = threading.Thread(target=self._drain_stderr, args=(self._proc,), daemon=True)
            self._stderr_thread.start()

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def kill(self) -> None:
        child_process.kill(self._proc)

    def _write(self, request: str) -> None:
        if not self.alive:
            raise SessionCrashed(self.death_note())
        try:
            self._stdin.write(request.encode())
            self._stdin.flush()
        except OSError:
            raise SessionCrashed(self.death_note()) from None

    def _read_frame(self, delimiter: bytes, deadline: float | None, waiting_for: str | None = None) -> bytes | None:
        """The bytes before the next `delimiter` (which is consumed); None once `deadline` has passed.

        Raises SessionCrashed when the process closes its stdout (naming
        `waiting_for`, if given) and `memory_error` when it goes over the cap.
        """
        fd = self._stdout.fileno()
        while True:
            end = self._buffer.find(delimiter)
            if end != -1:
                frame, self._buffer = self._buffer[:end], self._buffer[end + len(delimiter) :]
                return frame
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return None
            if self.memory_mb is not None:
                wait = MEMORY_POLL_S if wait is None else min(wait, MEMORY_POLL_S)
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
                waiting = "" if waiting_for is None else f" (while waiting for {waiting_for})"
                raise SessionCrashed(self.death_note() + waiting)
            self._buffer += chunk

    def _check_memory(self) -> None:
        if self.memory_mb is None:
            return
        rss = self.resident_mb()
        if rss > self.memory_mb:
            self.kill()
            raise self.memory_error(f"{self.name} used {rss:.0f} MB, over the cap of {self.memory_mb} MB; process killed")

    def resident_mb(self) -> float:
        """Resident memory of the process and all its descendants."""
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

    def _drain_stderr(self, proc: subprocess.Popen) -> None:
        if proc.stderr is None:  # started with stderr to /dev/null: nothing to drain
            return
        for line in iter(proc.stderr.readline, b""):
            text = line.decode("utf-8", errors="replace").rstrip()
            log.debug("%s stderr: %s", self.name, text)
            self._stderr.append(text)

    def stderr_note(self) -> str:
        """The last lines the process wrote to stderr, for a message ("" when none or not kept)."""
        if self._stderr_thread is None:
            return ""
        self._stderr_thread.join(timeout=0.5)
        tail = "\n".join(self._stderr)
        return f"\n{self.stderr_title}:\n{tail}" if tail else ""

    def death_note(self) -> str:
        """Why the process no longer answers, with its last stderr lines."""
        return child_process.exit_note(self._proc, self.name) + self.stderr_note()
