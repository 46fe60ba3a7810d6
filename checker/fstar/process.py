"""One `fstar.exe --ide FILE` process: typed queries in, typed answers out, with deadlines and a memory cap.

F* checks a fragment without any way to interrupt it from the protocol (its
`cancel` only drops queued queries), so a query that overruns its deadline
kills the process, as does one during which the process tree (F* and its Z3
children) goes over the resident-memory cap, sampled every `MEMORY_POLL_S`
while waiting. A process that falls silent (it answered some queries, then
sent a message and nothing more: Search.cons-snoc in the fixtures) is the
same case as a slow one: the deadline kills it, and the exception carries
what it did say. Either way every pushed fragment is gone; `restart` starts
the same command again.

Lines on stdout that are not JSON objects (F*'s `--debug` output goes there)
are logged and kept in a short tail, never parsed.
"""

from __future__ import annotations

import collections
import logging
import os
import select
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Sequence

import psutil

from proofsmith.checker import child_process
from proofsmith.checker.backend import SessionCrashed
from proofsmith.checker.fstar.protocol import (
    AnyQuery,
    FullBuffer,
    Message,
    ProgressMessage,
    ProtocolError,
    ProtocolInfo,
    Response,
    decode_line,
    parse_incoming,
)

log = logging.getLogger(__name__)

MEMORY_POLL_S = 0.2
TAIL_LINES = 20
FULL_BUFFER_FINISHED = "full-buffer-finished"


class FStarTimeout(SessionCrashed):
    """F* did not answer in time (slow or silent); it has been killed."""

    def __init__(self, message: str, messages: tuple[Message, ...] = ()):
        super().__init__(message)
        self.messages = messages


class FStarMemoryExceeded(SessionCrashed):
    """F* (with its solver processes) went over the memory cap; it has been killed."""


@dataclass(frozen=True)
class Answer:
    """F*'s reply to one query: the messages that came first, then the response."""

    response: Response
    messages: tuple[Message, ...] = ()


@dataclass(frozen=True)
class FullBufferAnswer:
    responses: tuple[Response, ...]
    messages: tuple[Message, ...] = ()


class FStarIde:
    def __init__(self, argv: Sequence[str], cwd: str | None = None, memory_mb: int | None = None,
                 handshake_timeout_s: float = 60.0):
        self.argv = list(argv)
        self.cwd = cwd
        self.memory_mb = memory_mb
        self.handshake_timeout_s = handshake_timeout_s
        self.stray: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._start()

    def _start(self) -> None:
        try:
            self._proc = child_process.spawn(self.argv, cwd=self.cwd, stderr=subprocess.PIPE)
        except OSError as exc:
            raise SessionCrashed(f"cannot start F* ({self.argv[0]!r}): {exc}") from None
        self._ps = psutil.Process(self._proc.pid)
        self._buffer = b""
        self._next_id = 0
        self._stderr: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._stderr_thread = threading.Thread(target=self._drain_stderr, args=(self._proc,), daemon=True)
        self._stderr_thread.start()
        self.protocol = self._handshake()

    def _handshake(self) -> ProtocolInfo:
        deadline = time.monotonic() + self.handshake_timeout_s
        hello = parse_incoming(self._read_object(deadline, "the protocol-info greeting"))
        if not isinstance(hello, ProtocolInfo):
            self.kill()
            raise SessionCrashed(f"F* did not start with protocol-info but sent {hello.to_json()!r}{self._stderr_note()}")
        return hello

    # ------------------------------------------------------------ lifecycle

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def restart(self) -> None:
        """Kill this process and start the same command again (every pushed fragment is gone)."""
        self.kill()
        self._start()

    def kill(self) -> None:
        child_process.kill(self._proc)

    # ------------------------------------------------------------ queries

    def call(self, query: AnyQuery, timeout_s: float | None = None, query_id: str | None = None) -> Answer | None:
        """Send `query` and read its answer; None for the queries F* never answers.

        Query-ids are "1", "2", ... unless `query_id` names one (a replayed
        transcript's). Raises FStarTimeout, FStarMemoryExceeded or
        SessionCrashed (after which the process is dead), never for an answer
        F* gave, whatever its status.
        """
        query_id = self._send(query, query_id)
        if query.response_type is None:
            return None
        deadline = None if timeout_s is None else time.monotonic() + max(timeout_s, 0.0)
        messages: list[Message] = []
        while True:
            item = self._read_for(query, query_id, deadline, messages)
            if isinstance(item, Response):
                return Answer(item, tuple(messages))
            messages.append(item)

    def full_buffer(self, query: FullBuffer, timeout_s: float | None = None, query_id: str | None = None) -> FullBufferAnswer:
        """A full-buffer check: every response (one per failing fragment or batch of
        issues) until the `full-buffer-finished` progress message."""
        query_id = self._send(query, query_id)
        deadline = None if timeout_s is None else time.monotonic() + max(timeout_s, 0.0)
        messages: list[Message] = []
        responses: list[Response] = []
        while True:
            item = self._read_for(query, query_id, deadline, messages)
            if isinstance(item, Response):
                responses.append(item)
                continue
            messages.append(item)
            if isinstance(item, ProgressMessage) and item.contents.stage == FULL_BUFFER_FINISHED:
                return FullBufferAnswer(tuple(responses), tuple(messages))

    def _send(self, query: AnyQuery, query_id: str | None) -> str:
        if not self.alive:
            raise SessionCrashed(self._death_note())
        self._next_id += 1
        query_id = str(self._next_id) if query_id is None else query_id
        try:
            self._proc.stdin.write(query.wire(query_id).encode())
            self._proc.stdin.flush()
        except OSError:
            raise SessionCrashed(self._death_note()) from None
        return query_id

    def _read_for(self, query: AnyQuery, query_id: str, deadline: float | None, so_far: list[Message]) -> Message | Response:
        what = f"query {query_id} ({query.query})"
        try:
            data = self._read_object(deadline, what)
        except FStarTimeout as exc:
            raise FStarTimeout(str(exc), tuple(so_far)) from None
        try:
            item = parse_incoming(data, query.response_type)
        except ProtocolError as exc:
            self.kill()
            raise SessionCrashed(f"{exc}{self._stderr_note()}") from None
        if isinstance(item, ProtocolInfo):
            self.kill()
            raise SessionCrashed(f"F* greeted again in the middle of {what}: it restarted itself")
        if isinstance(item, Response) and item.query_id != query_id:
            # F* answers in order; another id means the stream is out of step.
            self.kill()
            raise SessionCrashed(f"F* answered query {item.query_id} while {what} was pending")
        return item

    # ------------------------------------------------------------ reading

    def _read_object(self, deadline: float | None, what: str) -> dict:
        while True:
            line = self._read_line(deadline, what)
            if line.startswith("{"):
                try:
                    return decode_line(line)
                except ProtocolError as exc:
                    self.kill()
                    raise SessionCrashed(f"{exc}{self._stderr_note()}") from None
            if line.strip():
                log.info("F* stdout (not protocol): %s", line)
                self.stray.append(line)

    def _read_line(self, deadline: float | None, what: str) -> str:
        fd = self._proc.stdout.fileno()
        while True:
            end = self._buffer.find(b"\n")
            if end != -1:
                line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
                return line.decode("utf-8", errors="replace").rstrip("\r")
            wait = MEMORY_POLL_S if deadline is None else min(MEMORY_POLL_S, deadline - time.monotonic())
            if wait <= 0:
                self.kill()
                raise FStarTimeout(f"F* did not answer {what} in time; process killed")
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
                raise SessionCrashed(f"{self._death_note()} (while waiting for {what})")
            self._buffer += chunk

    def _check_memory(self) -> None:
        if self.memory_mb is None:
            return
        rss = self.resident_mb()
        if rss > self.memory_mb:
            self.kill()
            raise FStarMemoryExceeded(f"F* used {rss:.0f} MB, over the cap of {self.memory_mb} MB; process killed")

    def resident_mb(self) -> float:
        """Resident memory of F* and its children (the Z3 processes it starts)."""
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
        for line in iter(proc.stderr.readline, b""):
            text = line.decode("utf-8", errors="replace").rstrip()
            log.debug("F* stderr: %s", text)
            self._stderr.append(text)

    def _stderr_note(self) -> str:
        self._stderr_thread.join(timeout=0.5)
        tail = "\n".join(self._stderr)
        return f"\nF* stderr:\n{tail}" if tail else ""

    def _death_note(self) -> str:
        return child_process.exit_note(self._proc, "F*") + self._stderr_note()
