"""One `fstar.exe --ide FILE` process: typed queries in, typed answers out, with deadlines and a memory cap.

F* checks a fragment without any way to interrupt it from the protocol (its
`cancel` only drops queued queries), so a query that overruns its deadline
kills the process, as does one during which the process tree (F* and its Z3
children) goes over the resident-memory cap (checker.piped_process samples
it while waiting). A process that falls silent (it answered some queries, then
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
import time
from collections.abc import Sequence
from dataclasses import dataclass

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
from proofsmith.checker.piped_process import PipedProcess

log = logging.getLogger(__name__)

STRAY_LINES = 20
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


class FStarIde(PipedProcess):
    name = "F*"
    stderr_title = "F* stderr"
    memory_error = FStarMemoryExceeded

    def __init__(self, argv: Sequence[str], cwd: str | None = None, memory_mb: int | None = None,
                 handshake_timeout_s: float = 60.0):
        self.handshake_timeout_s = handshake_timeout_s
        self.stray: collections.deque[str] = collections.deque(maxlen=STRAY_LINES)
        super().__init__(argv, cwd=cwd, memory_mb=memory_mb)

    def _spawn(self) -> None:
        try:
            super()._spawn()
        except OSError as exc:
            raise SessionCrashed(f"cannot start F* ({self.argv[0]!r}): {exc}") from None
        self._next_id = 0
        self.protocol = self._handshake()

    def _handshake(self) -> ProtocolInfo:
        deadline = time.monotonic() + self.handshake_timeout_s
        hello = parse_incoming(self._read_object(deadline, "the protocol-info greeting"))
        if not isinstance(hello, ProtocolInfo):
            self.kill()
            raise SessionCrashed(f"F* did not start with protocol-info but sent {hello.to_json()!r}{self.stderr_note()}")
        return hello

    def restart(self) -> None:
        """Kill this process and start the same command again (every pushed fragment is gone)."""
        self.kill()
        self._spawn()

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

    def answer(self, query: AnyQuery, timeout_s: float | None = None) -> Answer:
        """`call` for a query F* answers (every query but the never-answered ones)."""
        answer = self.call(query, timeout_s)
        if answer is None:
            raise ValueError(f"F* never answers a {query.query!r} query")
        return answer

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
        self._next_id += 1
        query_id = str(self._next_id) if query_id is None else query_id
        self._write(query.wire(query_id))
        return query_id

    def _read_for(self, query: AnyQuery, query_id: str, deadline: float | None, so_far: list[Message]) -> Message | Response:
        what = f"query {query_id} ({query.query})"
        try:
            data = self._read_object(deadline, what)
        except FStarTimeout as exc:
            raise FStarTimeout(str(exc), tuple(so_far)) from None
        if query.response_type is None:
            raise ValueError(f"F* never answers a {query.query!r} query")
        try:
            item = parse_incoming(data, query.response_type)
        except ProtocolError as exc:
            self.kill()
            raise SessionCrashed(f"{exc}{self.stderr_note()}") from None
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
                    raise SessionCrashed(f"{exc}{self.stderr_note()}") from None
            if line.strip():
                log.info("F* stdout (not protocol): %s", line)
                self.stray.append(line)

    def _read_line(self, deadline: float | None, what: str) -> str:
        line = self._read_frame(b"\n", deadline, waiting_for=what)
        if line is None:
            self.kill()
            raise FStarTimeout(f"F* did not answer {what} in time; process killed")
        return line.decode("utf-8", errors="replace").rstrip("\r")
