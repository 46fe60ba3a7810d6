"""The stage runner: the one place that skips a finished stage, runs an unfinished one and marks it.

A round's stages leave their output in round-R/ and a mark in
round-R/state.json (the stage's counts and when it finished). A stage that is
marked is skipped; one that is not runs again, and resumes from what its files
already hold (proving appends one line per statement, elaboration and tracing
one line per conjecture or proof, training restarts from its last
checkpoint), so a killed round redoes nothing it had finished.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from proofsmith.formats.json_files import read_json, write_json
from proofsmith.iterate.layout import RunLayout
from proofsmith.iterate.records import checked_mark

# The stages of a round, in order (round 0: examples, train, heldout).
ROUND_STAGES = ("prove", "conjectures", "prove_conjectures", "traced", "select", "memory", "examples", "train",
                "heldout")
ROUND_ZERO_STAGES = ("memory", "examples", "train", "heldout")


class StopAfter(Exception):
    """Raised after the stage named in `stop_after` ("round:stage"), for tests that want a partial run."""


class StageRunner:
    def __init__(self, layout: RunLayout, stop_after: str | None = None, log: Callable[[str], None] = print):
        self.layout = layout
        self.stop_after = stop_after
        self.log = log

    def state(self, r: int) -> dict[str, dict[str, Any]]:
        path = self.layout.round(r).state
        return read_json(path) if path.is_file() else {}

    def done(self, r: int, stage: str) -> bool:
        return stage in self.state(r)

    def info(self, r: int, stage: str) -> dict[str, Any]:
        """A finished stage's counts (empty when it has not finished)."""
        return {k: v for k, v in self.state(r).get(stage, {}).items() if k != "finished_at"}

    def mark(self, r: int, stage: str, info: dict[str, Any]) -> None:
        info = checked_mark(stage, info)
        state = self.state(r)
        state[stage] = dict(info, finished_at=round(time.time(), 3))
        rd = self.layout.round(r)
        rd.dir.mkdir(parents=True, exist_ok=True)
        write_json(rd.state, state, indent=1)
        flat = {k: v for k, v in info.items() if not isinstance(v, (list, dict))}
        self.log(f"round {r}: {stage} done {json.dumps(flat)}")
        if self.stop_after == f"{r}:{stage}":
            raise StopAfter(stage)

    def run(self, r: int, stage: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """`work()` unless the stage is marked, then the mark; the stage's counts either way."""
        if not self.done(r, stage):
            self.mark(r, stage, work())
        return self.info(r, stage)
