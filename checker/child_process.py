"""Starting, describing and killing every process proofsmith starts.

One mechanism for the lifetime of children, used by every spawner (Coq, the
Lean REPL, tracing, compiling libraries):

- each child runs in its own session (process group), so a kill takes its
  children along (`lake env` runs the Lean REPL as a child);
- each child asks the kernel for SIGKILL when its parent dies
  (prctl(PR_SET_PDEATHSIG)), so nothing outlives proofsmith, even when
  proofsmith itself is killed with SIGKILL. The kernel's "parent" is the
  *thread* that forked, so every child is forked by one long-lived spawner
  thread, not by the worker thread that asked for it (a worker thread that
  ends would otherwise take its children along);
- every live child is registered, so `shutdown()` (the CLI's SIGINT/SIGTERM
  handler) kills them all at once, which unblocks every thread waiting on one,
  and refuses to start new ones from then on.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import queue
import resource
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

_PR_SET_PDEATHSIG = 1


class ShuttingDown(RuntimeError):
    """No new child processes: proofsmith is exiting."""


def _load_prctl() -> Callable[..., int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):  # not Linux: process groups and the registry still apply
        return None


# Resolved once here: the child may not load libraries between fork and exec.
_prctl = _load_prctl()
_live: set[subprocess.Popen] = set()
_closing = False


def _die_with_parent(parent_pid: int) -> None:
    """In the child, between fork and exec: SIGKILL when the parent dies (also if it already has)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


class _Spawner:
    """The one thread that forks every child, alive as long as the process."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def run(self, start: Callable[[], subprocess.Popen]) -> subprocess.Popen:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="proofsmith-spawner", daemon=True)
                self._thread.start()
        if threading.current_thread() is self._thread:
            return start()
        box: Future = Future()
        self._requests.put((start, box))
        try:
            return box.result()
        except BaseException:
            # Interrupted while waiting: nobody will own the child, so it must not live.
            box.add_done_callback(lambda f: f.exception() is None and kill(f.result()))
            raise

    def _serve(self) -> None:
        while True:
            start, box = self._requests.get()
            if not box.set_running_or_notify_cancel():
                continue
            try:
                box.set_result(start())
            except BaseException as exc:
                box.set_exception(exc)


_spawner = _Spawner()


def popen(argv: Sequence[str], *, preexec: Callable[[], None] | None = None, start_new_session: bool = True,
          **kwargs) -> subprocess.Popen:
    """`subprocess.Popen` for a child that dies with proofsmith (any keyword of Popen passes through)."""
    if _closing:
        raise ShuttingDown("proofsmith is shutting down; no new processes")
    parent_pid = os.getpid()

    def setup() -> None:
        _die_with_parent(parent_pid)
        if preexec is not None:
            preexec()

    def start() -> subprocess.Popen:
        for old in list(_live):  # list() copies atomically; other threads may discard meanwhile
            if old.returncode is not None:
                _live.discard(old)
        proc = subprocess.Popen(list(argv), preexec_fn=setup, start_new_session=start_new_session, **kwargs)
        _live.add(proc)
        if _closing:  # shutdown() ran while this one was being started: it saw the flag or will see the process
            kill(proc)
            raise ShuttingDown("proofsmith is shutting down; no new processes")
        return proc

    return _spawner.run(start)


def spawn(argv: Sequence[str], *, cwd: str | None = None, address_space_mb: int | None = None,
          stack_mb: int | None = None, stderr: int = subprocess.DEVNULL) -> subprocess.Popen:
    """Start `argv` with pipes for stdin/stdout, optionally under an address-space cap
    and with a given stack limit (Coq's OCaml code recurses on the system stack)."""

    def limit() -> None:
        if address_space_mb:
            limit_bytes = address_space_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
        if stack_mb:
            _, hard = resource.getrlimit(resource.RLIMIT_STACK)
            wanted = stack_mb * 1024 * 1024
            if hard != resource.RLIM_INFINITY:
                wanted = min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_STACK, (wanted, hard))

    return popen(
        argv,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        preexec=limit if address_space_mb or stack_mb else None,
    )


def run(argv: Sequence[str], *, timeout_s: float | None = None, **kwargs) -> subprocess.CompletedProcess:
    """`subprocess.run` (output captured) for a child that dies with proofsmith; TimeoutExpired as run raises it."""
    with popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs) as proc:
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except BaseException:
            kill(proc)
            raise
        finally:
            _live.discard(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def abort(proc: subprocess.Popen) -> None:
    """Kill the process group now, from any thread: its owner sees the process die (EOF) and cleans up."""
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def shutdown() -> None:
    """Kill every live child and start no new one (proofsmith is exiting). Safe in a signal handler."""
    global _closing
    _closing = True
    for proc in list(_live):
        abort(proc)


@atexit.register
def _reap_at_exit() -> None:
    """At exit, kill and reap what is left, so that no child (not even a zombie) outlives proofsmith."""
    shutdown()
    for proc in list(_live):
        try:
            proc.wait(timeout=1)
        except (subprocess.TimeoutExpired, OSError):
            pass


def exit_note(proc: subprocess.Popen, name: str) -> str:
    """Why `proc` is no longer answering, in words."""
    code = proc.poll()
    if code is None:
        return f"{name} stopped answering"
    if code < 0:
        return f"{name} was killed by signal {signal.Signals(-code).name}"
    return f"{name} exited with status {code}"


def kill(proc: subprocess.Popen) -> None:
    """Kill the process group, reap it and close its pipes (the owner's clean-up)."""
    if proc.poll() is None:
        abort(proc)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    _live.discard(proc)
    for stream in (proc.stdin, proc.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
