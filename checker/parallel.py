"""One parallel map for every worker pool: items in, results out as they finish, ordered shutdown.

Evaluation, tracing and mutation run their items on a bounded number of
threads (the work happens in proof-assistant processes, so threads suffice).
Each worker may own a state (an evaluator with its checker and prover): built
in the worker's own thread the first time it takes an item, and closed exactly
once. Results come back to the calling thread in completion order, so the
caller writes and flushes each one as it arrives.

Shutdown is ordered, whatever starts it: an exception escaping `work`,
`open_state` or `close_state` in any worker (fatal; `work` catches what must
not end the run), an exception in the calling thread (KeyboardInterrupt, or
the caller closing the iterator), or the caller setting `stop`:

1. no new item is handed out, and `stop` is set, so that running items that
   watch it end early; from now on no result is delivered;
2. with `cancel_running`, every worker's state is closed at once (its running
   item fails fast), and an item that yields several results ends at its next
   one; without it, running items run to their end;
3. every worker thread is waited for, each closing its own state unless step 2
   did, so no worker outlives the map;
4. the fatal error or the interrupt is raised again; after a stop request the
   iteration just ends.

Process lifetime is handled elsewhere: on the first Ctrl-C the CLI kills every
child process (checker.child_process), so items waiting on one fail fast and
step 3 is short; a second Ctrl-C, even during step 3, exits at once.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any, Generic, TypeVar, cast

log = logging.getLogger(__name__)

S = TypeVar("S")  # a worker's state
T = TypeVar("T")  # an item
R = TypeVar("R")  # a result

# How often the calling thread wakes while it waits: to see a stop request, and to run a signal
# handler (Ctrl-C) whose signal came just before it blocked, which would not wake it.
POLL_S = 0.1
_END = object()  # no item left
_NOT_BUILT = object()
_CLOSED = object()  # a state closed before its worker could use it
_RESULT, _FATAL, _EXIT = "result", "fatal", "exit"


def parallel_map(work: Callable[[S, T], R], items: Iterable[T], workers: int, **options: Any) -> Generator[R, None, None]:
    """`work(state, item)` for every item on at most `workers` threads; yields the results as they finish.

    The keyword options (worker states, stop, cancel_running, thread names) are `parallel_flat_map`'s.
    """

    def one_result(state: S, item: T) -> Iterator[R]:
        yield work(state, item)

    return parallel_flat_map(one_result, items, workers, **options)


def parallel_flat_map(
    work: Callable[[S, T], Iterable[R]],
    items: Iterable[T],
    workers: int,
    *,
    open_state: Callable[[], S] | None = None,
    close_state: Callable[[S], Any] | None = None,
    stop: threading.Event | None = None,
    cancel_running: bool = False,
    name: str = "worker",
) -> Generator[R, None, None]:
    """`parallel_map` for a `work` that yields several results per item, each delivered as soon as it is yielded.

    Each worker's state is `open_state()` (None without it), built in the
    worker's thread when it takes its first item, and closed with
    `close_state(state)`. The shutdown is the module docstring's. Close the
    iterator (or exhaust it) to end the workers: `with closing(parallel_map(...))`.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    items = list(items)
    states = [_WorkerState(open_state, close_state) for _ in range(min(workers, len(items)))]
    return _run(work, items, states, stop, cancel_running, name)


class _WorkerState(Generic[S]):
    """One worker's state: built once in the worker's thread, closed exactly once by whichever thread comes first."""

    def __init__(self, open_state: Callable[[], S] | None, close_state: Callable[[S], Any] | None):
        self._open: Callable[[], Any] = open_state or (lambda: None)
        self._close: Callable[[Any], Any] = close_state or (lambda state: None)
        self._lock = threading.Lock()
        self._state: Any = _NOT_BUILT
        self._closed = False

    def get(self) -> Any:
        """The state, built on first use; _CLOSED once it has been closed."""
        if self._state is _NOT_BUILT and not self._closed:
            state = self._open()
            with self._lock:
                closed = self._closed
                if not closed:
                    self._state = state
            if closed:  # closed while it was being built: nobody else will close this one
                self._close(state)
        return _CLOSED if self._closed else self._state

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            state = self._state
        if state is not _NOT_BUILT:
            self._close(state)


def _run(work: Callable[[Any, T], Iterable[R]], items: list[T], states: list[_WorkerState],
         stop: threading.Event | None, cancel_running: bool, name: str) -> Generator[R, None, None]:
    stop = stop or threading.Event()
    todo = iter(items)
    todo_lock = threading.Lock()
    done: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()

    def next_item() -> Any:
        with todo_lock:
            return _END if stop.is_set() else next(todo, _END)

    def worker(state: _WorkerState) -> None:
        try:
            while (item := next_item()) is not _END:
                current = state.get()
                if current is _CLOSED:  # cancelled
                    return
                results = work(current, item)
                try:
                    for result in results:
                        done.put((_RESULT, result))
                        if cancel_running and stop.is_set():
                            break
                finally:
                    if isinstance(results, Generator):
                        results.close()
        except BaseException as exc:
            done.put((_FATAL, exc))
        finally:
            try:
                state.close()
            except BaseException as exc:
                done.put((_FATAL, exc))
            done.put((_EXIT, None))

    threads = [threading.Thread(target=worker, args=(s,), name=f"{name}-{i}", daemon=True) for i, s in enumerate(states)]
    for thread in threads:
        thread.start()
    running = len(threads)
    try:
        while running:
            try:
                kind, value = done.get(timeout=POLL_S)
            except queue.Empty:
                kind, value = None, None
            if stop.is_set():  # the caller's request: the map sets it only in the shutdown below
                break
            if kind == _RESULT:
                yield cast(R, value)  # what the worker put with _RESULT
            elif kind == _EXIT:
                running -= 1
            elif kind == _FATAL:
                raise cast(BaseException, value)
    finally:
        stop.set()
        if cancel_running:
            for state in states:
                try:
                    state.close()
                except Exception:  # already shutting down for another reason, which is the one raised
                    log.exception("closing a worker's state")
        for thread in threads:
            while thread.is_alive():
                thread.join(POLL_S)
