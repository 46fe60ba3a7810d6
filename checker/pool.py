"""A pool of proof sessions with explicit free and busy sets, and the batched checker built on it.

Sessions are started lazily up to `size`. A session is handed out preferring
one that already has the task's header loaded (imports are paid once per
header per process). A session whose process died, hung or ran out of memory
is dropped when it comes back and a fresh one takes its place; the task it was
working on is reported as error/timeout by the session itself, and every other
task in the batch is unaffected. Sessions are recycled after `max_uses`
checks to bound memory growth.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager

from proofsmith.checker.backend import Checker, ProofSession, ResultCallback
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import CheckerInfo, CheckResult, ProofTask, Verdict


class SessionPool:
    def __init__(self, factory: Callable[[], ProofSession], size: int, max_uses: int):
        self._factory = factory
        self.size = size
        self.max_uses = max_uses
        self._free: list[ProofSession] = []
        self._busy: set[ProofSession] = set()
        self._starting = 0
        self._cond = threading.Condition()
        self._closed = False

    def acquire(self, header: str | None = None) -> ProofSession:
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("session pool is closed")
                if self._free:
                    session = self._pick(header)
                    self._busy.add(session)
                    return session
                if len(self._busy) + self._starting < self.size:
                    self._starting += 1
                    break
                self._cond.wait()
        try:
            session = self._factory()
        except BaseException:
            with self._cond:
                self._starting -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._starting -= 1
            self._busy.add(session)
        return session

    def _pick(self, header: str | None) -> ProofSession:
        for i, session in enumerate(self._free):
            if session.header == header:
                return self._free.pop(i)
        return self._free.pop()

    def release(self, session: ProofSession) -> None:
        retire = not session.alive or session.uses >= self.max_uses
        with self._cond:
            self._busy.discard(session)
            if not retire and not self._closed:
                self._free.append(session)
            self._cond.notify()
        if retire or self._closed:
            session.close()

    @contextmanager
    def lease(self, header: str | None = None) -> Iterator[ProofSession]:
        session = self.acquire(header)
        try:
            yield session
        finally:
            self.release(session)

    @property
    def busy(self) -> int:
        with self._cond:
            return len(self._busy)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            sessions, self._free = self._free, []
            self._cond.notify_all()
        for session in sessions:
            session.close()


class PooledChecker(Checker):
    """A batched checker over any ProofSession type."""

    def __init__(self, session_factory: Callable[[], ProofSession], settings: CheckerSettings | None = None):
        self.settings = settings or CheckerSettings()
        self.pool = SessionPool(session_factory, self.settings.workers, self.settings.max_uses)
        self._info: CheckerInfo | None = None

    @property
    def info(self) -> CheckerInfo:
        if self._info is None:
            with self.pool.lease() as session:
                self._info = session.info
        return self._info

    def _check_one(self, task: ProofTask) -> CheckResult:
        t0 = time.monotonic()
        timeout = task.timeout_s or self.settings.timeout_s
        try:
            with self.pool.lease(task.theorem.context_key) as session:
                if self._info is None:
                    self._info = session.info
                return session.check(task.theorem, task.proof, timeout)
        except Exception as exc:  # one task's failure must never abort the batch
            return CheckResult(
                Verdict.ERROR, f"checker failure: {type(exc).__name__}: {exc}", time_s=time.monotonic() - t0,
                checker=self._info,
            )

    def check_batch(self, tasks: Sequence[ProofTask], on_result: ResultCallback | None = None) -> list[CheckResult]:
        results: list[CheckResult | None] = [None] * len(tasks)
        if not tasks:
            return []
        # Tasks that share a header run back to back, so each session loads a
        # header once per run of them instead of once per switch.
        order = sorted(range(len(tasks)), key=lambda i: _context_order(tasks[i].theorem))
        executor = ThreadPoolExecutor(max_workers=min(self.pool.size, len(tasks)))
        try:
            futures = {executor.submit(self._check_one, tasks[i]): i for i in order}
            for future in as_completed(futures):
                index = futures[future]
                result = results[index] = future.result()
                if on_result is not None:
                    on_result(index, result)
        finally:
            # Interrupted (Ctrl-C, a failing callback): the tasks not started are dropped; the
            # running ones end with their processes (proofsmith's signal handler kills them all).
            executor.shutdown(wait=True, cancel_futures=True)
        done = [r for r in results if r is not None]
        assert len(done) == len(tasks)  # every future finished or raised out of the loop
        return done

    @contextmanager
    def session(self) -> Iterator[ProofSession]:
        with self.pool.lease() as session:
            yield session

    def close(self) -> None:
        self.pool.close()


def _context_order(theorem) -> tuple:
    """Tasks that share a context run back to back; a file's theorems in file order (each moves forward)."""
    place = theorem.place
    return (theorem.context_key, (place.line or 0) if place else 0)
