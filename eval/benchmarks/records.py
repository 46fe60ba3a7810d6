"""Reading JSON input files record by record, naming file, line, column and field of anything wrong.

Every JSON input a command reads (benchmark data for `eval`, proofs for
`check`) goes through `read_jsonl` / `read_json`, so a file that is not UTF-8,
not JSON, or empty gets the same one-line error wherever it is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator


class InputFileError(ValueError):
    """An input file is missing or malformed; the message names file, line, column and field."""

    def __init__(
        self, path: Path | str, message: str, line: int | None = None, field: str | None = None, column: int | None = None
    ):
        self.path = str(path)
        self.line = line
        self.column = column
        self.field = field
        where = self.path
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        if field is not None:
            where += f": field {field!r}"
        super().__init__(f"{where}: {message}")


# The name the benchmark loaders use.
BenchmarkDataError = InputFileError


def require_file(path: Path) -> Path:
    if not path.exists():
        raise InputFileError(path, "no such file")
    if not path.is_file():
        raise InputFileError(path, "not a file")
    return path


def _decode(data: bytes, path: Path, line: int | None = None) -> str:
    """`data` as UTF-8 text; anything else is an error naming the line and column of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        if line is None:  # a whole file: find the line
            line = before.count(b"\n") + 1
            before = before[before.rfind(b"\n") + 1 :]
        column = len(before.decode("utf-8")) + 1
        raise InputFileError(
            path, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8", line, column=column
        ) from None


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for every non-blank line of a JSON Lines file; an empty file is an error."""
    require_file(path)
    empty = True
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            line = _decode(raw, path, lineno)
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputFileError(path, f"not valid JSON: {exc.msg}", lineno, column=exc.colno) from None
            if not isinstance(record, dict):
                raise InputFileError(path, f"expected a JSON object, got {type(record).__name__}", lineno)
            empty = False
            yield lineno, record
    if empty:
        raise InputFileError(path, "no records: the file is empty or has only blank lines")


def read_json(path: Path) -> Any:
    require_file(path)
    text = _decode(path.read_bytes(), path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(path, f"not valid JSON: {exc.msg}", exc.lineno, column=exc.colno) from None


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
        raise InputFileError(path, "missing", line, name)
    value = record[name]
    if value is None and optional:
        return None
    # bool is a subclass of int; a JSON true is never a valid integer here
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        got = "null" if value is None else type(value).__name__
        raise InputFileError(path, f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {got}", line, name)
    if nonempty and not value:
        raise InputFileError(path, "must not be empty", line, name)
    return value


def string_list(record: dict[str, Any], name: str, path: Path, line: int | None, *, optional: bool = False) -> list[str]:
    value = get_field(record, name, list, path, line, optional=optional)
    if value is None:
        return []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise InputFileError(path, f"item {i} is {type(item).__name__}, expected a string", line, name)
    return value
