"""Starting, describing and killing a proof-assistant child process.

Every backend process runs in its own session (process group), so a kill
takes its children along (`lake env` runs the Lean REPL as a child).
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from typing import Sequence


def spawn(argv: Sequence[str], *, cwd: str | None = None, address_space_mb: int | None = None,
          stderr: int = subprocess.DEVNULL) -> subprocess.Popen:
    """Start `argv` with pipes for stdin/stdout, optionally under an address-space cap."""

    def limit() -> None:
        limit_bytes = address_space_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        preexec_fn=limit if address_space_mb else None,
        start_new_session=True,
    )


def exit_note(proc: subprocess.Popen, name: str) -> str:
    """Why `proc` is no longer answering, in words."""
    code = proc.poll()
    if code is None:
        return f"{name} stopped answering"
    if code < 0:
        return f"{name} was killed by signal {signal.Signals(-code).name}"
    return f"{name} exited with status {code}"


def kill(proc: subprocess.Popen) -> None:
    """Kill the process group, reap it and close its pipes."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    for stream in (proc.stdin, proc.stdout):
        try:
            stream.close()
        except (OSError, AttributeError):
            pass
