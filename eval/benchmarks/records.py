"""Reading benchmark files record by record, naming file, line and field of anything wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator


class BenchmarkDataError(ValueError):
    """A benchmark file is missing or malformed; the message names file, line and field."""

    def __init__(self, path: Path | str, message: str, line: int | None = None, field: str | None = None):
        self.path = str(path)
        self.line = line
        self.field = field
        where = self.path if line is None else f"{self.path}:{line}"
        if field is not None:
            where += f": field {field!r}"
        super().__init__(f"{where}: {message}")


def require_file(path: Path) -> Path:
    if not path.exists():
        raise BenchmarkDataError(path, "no such file")
    if not path.is_file():
        raise BenchmarkDataError(path, "not a file")
    return path


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for every non-blank line of a JSON Lines file."""
    require_file(path)
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BenchmarkDataError(path, f"not valid JSON ({exc.msg} at column {exc.colno})", lineno) from None
            if not isinstance(record, dict):
                raise BenchmarkDataError(path, f"expected a JSON object, got {type(record).__name__}", lineno)
            yield lineno, record


def read_json(path: Path) -> Any:
    require_file(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BenchmarkDataError(path, f"not valid JSON ({exc.msg})", exc.lineno) from None


_TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "an object", bool: "true or false"}


def get_field(
    record: dict[str, Any],
    name: str,
    kind: type,
    path: Path,
    line: int | None,
    *,
    optional: bool = False,
    nonempty: bool = False,
) -> Any:
    """`record[name]`, checked to be of type `kind` (None allowed when optional)."""
    if name not in record:
        if optional:
            return None
        raise BenchmarkDataError(path, "missing", line, name)
    value = record[name]
    if value is None and optional:
        return None
    # bool is a subclass of int; a JSON true is never a valid integer here
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        got = "null" if value is None else type(value).__name__
        raise BenchmarkDataError(path, f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {got}", line, name)
    if nonempty and not value:
        raise BenchmarkDataError(path, "must not be empty", line, name)
    return value


def string_list(record: dict[str, Any], name: str, path: Path, line: int | None, *, optional: bool = False) -> list[str]:
    value = get_field(record, name, list, path, line, optional=optional)
    if value is None:
        return []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise BenchmarkDataError(path, f"item {i} is {type(item).__name__}, expected a string", line, name)
    return value
