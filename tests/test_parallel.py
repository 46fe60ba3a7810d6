"""The parallel map every worker pool uses (checker.parallel): delivery, worker states, ordered shutdown.

Each shutdown cause (a fatal error in a worker, KeyboardInterrupt in a worker
or in the main thread, a stop request, the caller closing the iterator) must
stop handing out items, let the running ones finish or cancel them as asked,
close every worker's state exactly once, leave no worker thread running, and
re-raise. The last tests check that evaluation, tracing and mutation run
through it.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from proofsmith.checker.parallel import parallel_flat_map, parallel_map

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 10.0  # a generous bound: every wait below ends in milliseconds unless the map is broken


class State:
    """A worker's resource; `closed` is what a killed child process looks like to the item using it."""

    def __init__(self, states: list[State]):
        self.thread = threading.current_thread()
        self.closed = threading.Event()
        self.close_calls = 0
        states.append(self)

    def close(self) -> None:
        self.close_calls += 1
        self.closed.set()


@pytest.fixture
def states():
    made: list[State] = []
    yield made
    assert all(s.close_calls == 1 for s in made), [s.close_calls for s in made]


@pytest.fixture(autouse=True)
def no_thread_left():
    yield
    left = [t.name for t in threading.enumerate() if t.name.startswith("ptest-")]
    assert not left, f"worker threads still running: {left}"


def _pool(work, items, workers, states, **options):
    return parallel_map(work, items, workers, open_state=lambda: State(states), close_state=State.close,
                        name="ptest", **options)


def test_results_come_in_completion_order_and_each_worker_builds_its_state_once(states):
    gates = [threading.Event() for _ in range(3)]

    def work(state: State, i: int) -> int:
        assert state.thread is threading.current_thread()  # built in the worker's own thread
        assert gates[i].wait(WAIT_S)
        return i

    gates[2].set()
    got = []
    with closing(_pool(work, range(3), 3, states)) as results:
        for i in results:
            got.append(i)
            if len(got) < 3:
                gates[[2, 0, 1][len(got)]].set()
    assert got == [2, 0, 1]
    assert len(states) == 3


def test_workers_are_bounded_and_states_lazy(states):
    running, most = Counter(), [0]
    lock = threading.Lock()

    def work(state: State, i: int) -> int:
        with lock:
            running["now"] += 1
            most[0] = max(most[0], running["now"])
        time.sleep(0.01)
        with lock:
            running["now"] -= 1
        return i * i

    assert sorted(_pool(work, range(20), 3, states)) == [i * i for i in range(20)]
    assert most[0] <= 3 and len(states) <= 3
    assert list(_pool(work, [], 3, states)) == [] and len(states) <= 3  # no item, no worker, no state
    with pytest.raises(ValueError, match="at least 1"):
        parallel_map(work, range(3), 0)


@pytest.mark.parametrize("cancel_running", [False, True], ids=["running-finish", "running-cancelled"])
def test_a_fatal_error_stops_the_map_and_is_raised(states, cancel_running):
    started, finished = [], []
    failing, stop = threading.Event(), threading.Event()

    def work(state: State, i: int) -> int:
        started.append(i)
        if i == 1:
            assert failing.wait(WAIT_S)
            raise ValueError("fatal item")
        failing.set()
        # the other running item: it ends when the map sets stop, or when its state is closed under it
        assert (state.closed if cancel_running else stop).wait(WAIT_S)
        finished.append(i)
        return i

    delivered = []
    with pytest.raises(ValueError, match="fatal item"):
        with closing(_pool(work, range(10), 2, states, stop=stop, cancel_running=cancel_running)) as results:
            for i in results:
                delivered.append(i)
    assert sorted(started) == [0, 1], "an item was handed out after the fatal error"
    assert finished == [0] and delivered == []  # the running item ended; its result was not delivered
    assert stop.is_set()


@pytest.mark.parametrize("where", ["worker", "open_state", "close_state"])
def test_keyboard_interrupt_or_error_in_a_worker_is_raised_in_the_caller(states, where):
    def work(state: State, i: int) -> int:
        assert second_open.wait(WAIT_S)  # both workers take part
        if where == "worker" and i == 3:
            raise KeyboardInterrupt
        return i

    opened = Counter()
    second_open = threading.Event()
    lock = threading.Lock()

    def open_state() -> State:
        with lock:
            opened["calls"] += 1
            second = opened["calls"] == 2
        if second:
            second_open.set()
            if where == "open_state":
                raise KeyboardInterrupt
        return State(states)

    def close_state(state: State) -> None:
        state.close()
        if where == "close_state":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        list(parallel_map(work, range(8), 2, open_state=open_state, close_state=close_state, name="ptest"))


def test_ctrl_c_in_the_main_thread_with_the_cli_killing_children(states):
    """As under the CLI: SIGINT kills every child (the items waiting on one fail fast), then
    KeyboardInterrupt reaches the main thread, blocked waiting for a result; the map re-raises promptly."""
    children_killed, got_first = threading.Event(), threading.Event()
    busy = threading.Barrier(2)

    def on_sigint(signum, frame):
        children_killed.set()
        raise KeyboardInterrupt

    def work(state: State, i: int) -> int:
        if i == 0:
            return i
        busy.wait(WAIT_S)  # both workers are waiting on a "child"
        if i == 1:
            assert got_first.wait(WAIT_S)
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        if children_killed.wait(WAIT_S):
            raise RuntimeError("coqidetop was killed")  # what a killed child looks like to the item
        return i

    previous = signal.signal(signal.SIGINT, on_sigint)
    delivered = []
    try:
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt), closing(_pool(work, range(6), 2, states)) as results:
            for i in results:
                delivered.append(i)
                got_first.set()
        elapsed = time.monotonic() - t0
    finally:
        signal.signal(signal.SIGINT, previous)
    assert delivered == [0] and elapsed < 2.0
    assert len(states) == 2


def test_keyboard_interrupt_in_the_callers_loop_closes_the_map(states):
    def work(state: State, i: int) -> int:
        if i > 0:
            assert state.closed.wait(WAIT_S)  # cancelled: its state is closed under it
        return i

    with pytest.raises(KeyboardInterrupt):
        with closing(_pool(work, range(5), 2, states, cancel_running=True)) as results:
            for _ in results:
                raise KeyboardInterrupt  # e.g. Ctrl-C while the caller writes the first result


def test_a_stop_request_ends_the_iteration_quietly(states):
    stop = threading.Event()
    started = []

    def work(state: State, i: int) -> int:
        started.append(i)
        if i >= 2:
            assert stop.wait(WAIT_S)  # running items watch the event and end early
        return i

    delivered = []
    for i in _pool(work, range(10), 2, states, stop=stop):
        delivered.append(i)
        if len(delivered) == 2:
            stop.set()
    assert sorted(delivered) == [0, 1]
    assert len(started) <= 4, "items were handed out after the stop request"


@pytest.mark.parametrize("cancel_running", [False, True])
def test_an_item_with_several_results_delivers_each_and_is_cancelled_at_the_next(cancel_running):
    leases = Counter()
    produced = []
    first = threading.Event()

    def work(_, chunk: list[int]):
        leases["open"] += 1
        try:
            for i in chunk:
                produced.append(i)
                yield i
                first.set()
                time.sleep(0.05)
        finally:
            leases["closed"] += 1

    def other(_, chunk: list[int]):
        assert first.wait(WAIT_S)
        raise OSError("disk full")

    def work_or_fail(state, chunk):
        return other(state, chunk) if chunk == [99] else work(state, chunk)

    with pytest.raises(OSError, match="disk full"):
        list(parallel_flat_map(work_or_fail, [[1, 2, 3, 4, 5], [99]], 2, cancel_running=cancel_running, name="ptest"))
    assert leases["open"] == leases["closed"] == 1  # the chunk's lease was given back either way
    assert produced == [1, 2, 3, 4, 5][:len(produced)]
    if cancel_running:
        assert len(produced) < 5


# ------------------------------------------------------------- the three users


# That they start no thread or pool of their own is an import-linter contract (pyproject.toml).


def _spy(monkeypatch, module, name: str) -> list:
    calls = []
    real = getattr(module, name)

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


@pytest.mark.coq
def test_eval_runs_its_problems_through_the_map(monkeypatch, tmp_path):
    from proofsmith.eval import runner

    calls = _spy(monkeypatch, runner, "parallel_map")
    config = runner.RunConfig(benchmark="minif2f-coq", split="test", budget_s=10, workers=2,
                              problems=("mathd_algebra_304", "mathd_algebra_125"))
    outcome = runner.run_eval(config, tmp_path / "run", progress=False)
    assert len(calls) == 1 and {p.name for p in calls[0][1]} == set(config.problems)
    assert {r["verdict"] for r in outcome.records} == {"proved"}


@pytest.mark.coq
def test_trace_runs_its_files_through_the_map(monkeypatch, tmp_path):
    from proofsmith.data_synth.trace import runner
    from proofsmith.data_synth.trace.libraries import from_folder

    calls = _spy(monkeypatch, runner, "parallel_map")
    run = runner.trace([from_folder(ROOT / "tests" / "fixtures" / "tracelib", "TraceLib")], tmp_path, workers=2,
                       progress=False)
    assert len(calls) == 1 and len(calls[0][1]) == run.traced_now == 4


@pytest.mark.coq
def test_mutation_runs_its_parents_through_the_map(monkeypatch, tmp_path):
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings
    from proofsmith.data_synth import mutation_run
    from proofsmith.data_synth.mutation import MutationSettings

    calls = _spy(monkeypatch, mutation_run, "parallel_flat_map")
    library = mutation_run.MutationLibrary.load(ROOT / "tests" / "fixtures" / "mutation")
    library.parents = library.parents[:3]
    with open_checker("coq", CheckerSettings(workers=2)) as checker:
        funnel = mutation_run.mutate_library(library, checker, tmp_path / "mutants.jsonl", limit=1, workers=2,
                                             settings=MutationSettings())
    assert len(calls) == 2  # the source statements, then the mutation
    assert sum(len(chunk) for chunk in calls[0][1]) == 3
    assert sum(len(chunk) for chunk in calls[1][1]) == 1 and funnel.run["parents_this_run"] == 1
