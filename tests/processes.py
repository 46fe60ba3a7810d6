"""Which processes a test started are still running: what the process-lifetime tests look for."""

from __future__ import annotations

import psutil


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Those of `procs` still running; a zombie (dead, not yet reaped) counts as gone."""
    left = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                left.append(p)
        except psutil.NoSuchProcess:
            pass
    return left
