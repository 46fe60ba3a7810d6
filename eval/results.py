"""The results file of a run: one JSON line per finished theorem, appended and flushed.

A run killed at any point (even with SIGKILL in the middle of a write) leaves
a file whose complete lines are complete results; `load` drops a torn last
line, so a resumed run redoes exactly that theorem and nothing else. An
exclusive lock on the file keeps two runs from writing into it at once.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any


class ResultsFileError(ValueError):
    """The results file is corrupt beyond a torn last line, or already in use."""


class ResultsFile:
    def __init__(self, path: Path):
        self.path = path
        self._handle = None

    def open(self) -> list[dict[str, Any]]:
        """Lock the file, repair a torn last line, return the records already in it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ResultsFileError(f"{self.path}: another proofsmith eval is writing to this run") from None
        self._handle = handle
        try:
            return self._load_and_repair()
        except BaseException:
            self.close()
            raise

    def _load_and_repair(self) -> list[dict[str, Any]]:
        handle = self._handle
        handle.seek(0)
        data = handle.read()
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            # A write cut short by a kill: the theorem it belonged to is not finished.
            handle.truncate(complete)
            handle.flush()
            os.fsync(handle.fileno())
        records: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for lineno, line in enumerate(data[:complete].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ResultsFileError(f"{self.path}:{lineno}: not valid JSON ({exc.msg}); fix or remove that line") from None
            name = record.get("name") if isinstance(record, dict) else None
            if not isinstance(name, str):
                raise ResultsFileError(f"{self.path}:{lineno}: not a result record (no 'name')")
            if name in seen:
                raise ResultsFileError(f"{self.path}:{lineno}: duplicate result for {name!r} (first on line {seen[name]})")
            seen[name] = lineno
            records.append(record)
        handle.seek(0, os.SEEK_END)
        return records

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        # One write call per record: a kill leaves at most this line torn.
        self._handle.write(line)
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing releases the lock
            self._handle = None

    def __enter__(self) -> "ResultsFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_results(path: Path) -> list[dict[str, Any]]:
    """The complete records of a results file, read-only (a torn last line is ignored)."""
    records = []
    with path.open("rb") as f:
        data = f.read()
    for lineno, line in enumerate(data[: data.rfind(b"\n") + 1].splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ResultsFileError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
    return records
