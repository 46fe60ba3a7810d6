"""Wall time per component (model, retrieval, checker) of one proof attempt."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Stopwatch:
    totals: dict[str, float] = field(default_factory=lambda: {"model": 0.0, "retrieval": 0.0, "checker": 0.0})

    @contextmanager
    def timing(self, component: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.totals[component] = self.totals.get(component, 0.0) + time.perf_counter() - start

    def add_since(self, now: dict[str, float], before: dict[str, float]) -> None:
        """Add what cumulative counters (`now`, earlier `before`) grew by, each under its own name."""
        for name, seconds in now.items():
            self.totals[name] = self.totals.get(name, 0.0) + seconds - before.get(name, 0.0)

    def rounded(self) -> dict[str, float]:
        return {name: round(t, 4) for name, t in self.totals.items()}
