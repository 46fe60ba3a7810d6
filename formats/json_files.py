"""JSON and JSON Lines files on disk: one reading policy, one way to append, atomic rewrites.

Every file the platform reads or writes as JSON goes through here, so the
same damage gets the same answer everywhere:

- A JSON Lines file is one JSON object per line. A run killed in the middle
  of a write leaves at most its last line unterminated and unparseable (torn);
  readers drop that line, and `JsonlAppender` cuts it off before appending, so
  a resumed run redoes that record and the file stays valid. Any other bad
  line (not UTF-8, not JSON, not an object) is damage no kill explains: an
  `InputFileError` naming file, line and column.
- Appends write each record with one write call and flush it, so a killed run
  loses only the record being written.
- A whole-file rewrite goes to a temporary file renamed over the old one
  (`os.replace`): a reader sees the old file or the new one, never half of
  either.

The helpers that check a record's fields (`get_field`, `string_list`) name the
field as well, so an input error always reads `FILE:LINE[:COLUMN]: field
'NAME': what is wrong`.

This lives in formats/, below every other layer, because every package reads
or writes such files (the axiom cache in checker, corpora and benchmarks in
retrieval, logs in data_synth, results and inputs in eval).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


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


class FileInUseError(InputFileError):
    """Another process holds the file an exclusive `JsonlAppender` wants."""


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


def _loads(text: str, path: Path, line: int | None = None) -> Any:
    """json.loads, with every way hostile text can make it fail turned into an error naming the input."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at = exc.lineno if line is None else line
        raise InputFileError(path, f"not valid JSON: {exc.msg}", at, column=exc.colno) from None
    except RecursionError:
        raise InputFileError(path, "not valid JSON here: nested too deeply", line) from None
    except ValueError as exc:  # an integer over Python's digit limit
        raise InputFileError(path, f"not valid JSON here: {exc}", line) from None


def _parse_line(raw: bytes, path: Path, lineno: int) -> dict[str, Any] | None:
    """The object on one line, None for a blank line."""
    line = _decode(raw, path, lineno).rstrip("\r\n")  # so that a column is counted within the line
    if not line.strip():
        return None
    record = _loads(line, path, lineno)
    if not isinstance(record, dict):
        raise InputFileError(path, f"expected a JSON object, got {type(record).__name__}", lineno)
    return record


def _is_torn(raw: bytes) -> bool:
    """Whether an unterminated last line is a write cut short: text that does not parse."""
    try:
        json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, RecursionError, ValueError):  # JSONDecodeError is a ValueError
        return True
    return False


def read_jsonl(
    path: Path, *, missing_ok: bool = False, appended: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for every non-blank line of a JSON Lines file.

    In a file proofsmith appends to (`appended`: results, logs, caches), a
    torn last line is a killed write and is dropped (logged); in a file a
    user hands in, it is an InputFileError like any other bad line. A missing or empty file is an error too, unless
    `missing_ok` (a log that no run has written yet), when it yields nothing.
    """
    if missing_ok and not path.exists():
        return
    require_file(path)
    empty = True
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if appended and not raw.endswith(b"\n") and raw.strip() and _is_torn(raw):
                log.warning("%s:%d: dropped an unfinished last line (a write cut short)", path, lineno)
                break
            record = _parse_line(raw, path, lineno)
            if record is not None:
                empty = False
                yield lineno, record
    if empty and not missing_ok:
        raise InputFileError(path, "no records: the file is empty or has only blank lines")


def read_json(path: Path) -> Any:
    require_file(path)
    return _loads(_decode(path.read_bytes(), path), path)


def json_line(record: Mapping[str, Any]) -> bytes:
    """One record as a JSON Lines line: UTF-8, non-ASCII kept as is, newline-terminated."""
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


class JsonlAppender:
    """Appends records to a JSON Lines file, one write and one flush each.

    Opening cuts off a torn last line left by a killed run (and terminates a
    complete one that lacks its newline), so the file stays valid. With
    `exclusive`, an advisory lock held until `close` keeps a second process
    from writing into the same file (FileInUseError).
    """

    def __init__(self, path: Path, *, exclusive: bool = False):
        self.path = path
        self.exclusive = exclusive
        self._file = None

    def open(self) -> JsonlAppender:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = self.path.open("a+b")
        if self.exclusive:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                raise FileInUseError(self.path, "another process is writing to this file") from None
        try:
            _repair_tail(f, self.path)
        except BaseException:
            f.close()
            raise
        self._file = f
        return self

    def append(self, record: Mapping[str, Any]) -> None:
        if self._file is None:
            raise ValueError(f"{self.path}: append before open")
        self._file.write(json_line(record))
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the lock
            self._file = None

    def __enter__(self) -> JsonlAppender:
        return self.open() if self._file is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _repair_tail(f, path: Path) -> None:
    end = f.seek(0, os.SEEK_END)
    if end == 0:
        return
    f.seek(end - 1)
    if f.read(1) == b"\n":
        return
    start = end
    while start > 0:  # back to the start of the last line
        block = max(0, start - (1 << 16))
        f.seek(block)
        newline = f.read(start - block).rfind(b"\n")
        if newline >= 0:
            start = block + newline + 1
            break
        start = block
    f.seek(start)
    tail = f.read()
    if tail.strip() and not _is_torn(tail):
        f.write(b"\n")  # a whole record whose newline was never written
    else:
        log.warning("%s: cut off an unfinished last line (a write cut short)", path)
        f.truncate(start)
    f.flush()
    os.fsync(f.fileno())


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` to write the new file into; renamed over `path` when the block succeeds."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomically(path: Path, text: str) -> None:
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Replace `path` with these records, one per line, atomically."""
    with replacing(path) as tmp, tmp.open("wb") as f:
        for record in records:
            f.write(json_line(record))


def write_json(path: Path, data: Any, *, indent: int | None = None) -> None:
    """Replace `path` with `data` as JSON, atomically.

    Compact (the default) is written without a final newline and indented with
    one: the bytes earlier versions wrote, which a run's identity hashes.
    """
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    write_text_atomically(path, text if indent is None else text + "\n")


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
    where: str | None = None,
) -> Any:
    """`record[name]`, checked to be of type `kind` (None allowed when optional).

    `where` names the record inside a JSON document (`[3]`, `from_repo`); the
    field is then reported as `where.name`.
    """
    field = f"{where}.{name}" if where else name
    if name not in record:
        if optional:
            return None
        raise InputFileError(path, "missing", line, field)
    value = record[name]
    if value is None and optional:
        return None
    # bool is a subclass of int; a JSON true is never a valid integer here
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        got = "null" if value is None else type(value).__name__
        raise InputFileError(path, f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {got}", line, field)
    if nonempty and not value:
        raise InputFileError(path, "must not be empty", line, field)
    return value


def get_position(
    record: dict[str, Any], name: str, path: Path, line: int | None, *, where: str | None = None
) -> tuple[int, int]:
    """`record[name]` as a position: [line, column], two integers."""
    value = get_field(record, name, list, path, line, where=where)
    if len(value) != 2 or not all(type(v) is int for v in value):  # bool is no int here
        raise InputFileError(path, f"expected [line, column], got {value!r}", line, f"{where}.{name}" if where else name)
    return value[0], value[1]


def string_list(
    record: dict[str, Any], name: str, path: Path, line: int | None, *, optional: bool = False, where: str | None = None
) -> list[str]:
    value = get_field(record, name, list, path, line, optional=optional, where=where)
    if value is None:
        return []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            field = f"{where}.{name}" if where else name
            raise InputFileError(path, f"item {i} is {type(item).__name__}, expected a string", line, field)
    return value
