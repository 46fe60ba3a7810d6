"""The order of a traced library: files in import order, then theorems by position in their file.

This is the order of the chronological protocol (Tactician's and CoqHammer's
"bootstrapping" evaluations): a theorem may see only what comes before it.
The file order is `corpus.jsonl`'s, which `proofsmith trace` writes with every
file after the files it imports (LeanDojo's order); inside a file, a theorem's
start position decides. Every traced theorem of every part of a split
(train, val and test) has a rank; a theorem's rank is the number of traced
theorems before it.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from proofsmith.formats.json_files import InputFileError, read_jsonl
from proofsmith.formats.leandojo import TracedTheorem

PARTS = ("train", "val", "test")


class LibraryOrderError(ValueError):
    """A theorem or file the library order cannot place; the message names it."""


@dataclass(frozen=True)
class LibraryOrder:
    """Ranks of a library's traced theorems in library order (file order, then position)."""

    files: tuple[str, ...]  # in import order
    names: tuple[str, ...]  # theorem full names in library order
    keys: tuple[tuple[int, int, int], ...]  # (file index, line, column) of each, ascending

    @classmethod
    def of(cls, corpus_path: Path, theorems: Iterable[TracedTheorem]) -> LibraryOrder:
        """The order of `theorems` (each listed once by full name; a repeated name keeps its first
        place) in the file order of `corpus_path`; LibraryOrderError for a theorem in no corpus file."""
        files = tuple(_corpus_files(corpus_path))
        file_index = {path: i for i, path in enumerate(files)}
        placed: dict[str, tuple[int, int, int]] = {}
        for theorem in theorems:
            if theorem.full_name in placed:
                continue
            if theorem.file_path not in file_index:
                raise LibraryOrderError(f"{theorem.full_name}: its file {theorem.file_path} is not in "
                                        f"{corpus_path}, so it has no place in the library order")
            placed[theorem.full_name] = (file_index[theorem.file_path], theorem.start[0], theorem.start[1])
        ordered = sorted(placed.items(), key=lambda item: item[1])
        return cls(files, tuple(name for name, _ in ordered), tuple(key for _, key in ordered))

    def __len__(self) -> int:
        return len(self.names)

    def rank(self, name: str) -> int:
        """The number of theorems before `name`; LibraryOrderError for a theorem the library does not hold."""
        index = self._index().get(name)
        if index is None:
            raise LibraryOrderError(f"{name} is not a traced theorem of this library, so nothing is known to precede it")
        return index

    def rank_at(self, file_path: str, line: int) -> int:
        """The number of theorems that start before line `line` of `file_path` (a place, not a name)."""
        if file_path not in self.files:
            raise LibraryOrderError(f"{file_path} is not a file of this library")
        return bisect.bisect_left(self.keys, (self.files.index(file_path), line, 0))

    def before(self, name: str) -> tuple[str, ...]:
        """The theorems before `name`, in library order."""
        return self.names[: self.rank(name)]

    def _index(self) -> dict[str, int]:
        cached = self.__dict__.get("_by_name")
        if cached is None:
            cached = {name: i for i, name in enumerate(self.names)}
            object.__setattr__(self, "_by_name", cached)
        return cached


def _corpus_files(path: Path) -> list[str]:
    if not path.is_file():
        raise LibraryOrderError(f"{path} does not exist (a trace folder written by `proofsmith trace` has it: "
                                "its file order is the library order)")
    files: list[str] = []
    for line, record in read_jsonl(path):
        if not isinstance(record.get("path"), str):
            raise InputFileError(path, "expected an object with a string 'path'", line, "path")
        files.append(record["path"])
    return files


def file_modules(trace_dir: Path, files: Iterable[str]) -> dict[str, str]:
    """Each of a trace's files' logical module (`theories/Lists/List.v` -> `Coq.Lists.List`), from
    metadata.json's libraries (a library's root folder is the first part of its files' paths, `logical`
    its logical name); {} when the trace records none."""
    try:
        metadata = json.loads((Path(trace_dir) / "metadata.json").read_text(encoding="utf-8"))
        roots = {Path(lib["root"]).name: lib["logical"] for lib in metadata.get("libraries", []) if lib.get("logical")}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    modules = {}
    for path in files:
        parts = Path(path).with_suffix("").parts
        if parts and parts[0] in roots:
            modules[path] = ".".join((roots[parts[0]], *parts[1:]))
    return modules
