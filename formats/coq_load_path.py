"""Coq load paths: which folders Coq binds to which logical names, as one typed value.

A load path is what `coqc` and `coqidetop` take as `-Q DIR NAME` (bind DIR to
NAME), `-R DIR NAME` (the same, and its files can be required by their short
names), `-I DIR` (OCaml plugins), plus other flags a project passes through
(`-arg` lines of a `_CoqProject`: warnings, `-impredicative-set`, ...).

It comes from the command line, from a `_CoqProject` file (read the way
`coq_makefile` reads one: words split on blanks, `#` to the end of the line is
a comment, `"..."` is one word, `-arg` values split again on blanks outside
single quotes, folders relative to the file's own folder), or from what an
earlier command recorded (the trace's metadata.json, mutant records), and it
ends up in `CheckerSettings.coq_args`. Folders are kept absolute, so a
recorded load path means the same from any working directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_FILE = "_CoqProject"
LOGICAL_NAME = re.compile(r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*")
_BINDING_FLAGS = {"-Q": 2, "-R": 2, "-I": 1}
_PROJECT_ORDER = {"-I": 0, "-Q": 1, "-R": 2}
# coq_makefile options that take one value and say nothing about the load path
_PROJECT_OPTIONS_WITH_VALUE = frozenset({"-native-compiler", "-docroot", "-generate-meta-for-package"})


class LoadPathError(ValueError):
    """A load path that cannot be read; the message names where and why."""


@dataclass(frozen=True)
class Binding:
    flag: str  # "-Q", "-R" or "-I"
    directory: str  # absolute
    logical: str = ""  # the logical name ("" for -I)

    def args(self) -> list[str]:
        return [self.flag, self.directory] + ([self.logical] if self.flag != "-I" else [])


@dataclass(frozen=True)
class LoadPath:
    bindings: tuple[Binding, ...] = ()
    extra_args: tuple[str, ...] = ()  # other Coq flags, passed on as they are

    def __bool__(self) -> bool:
        return bool(self.bindings or self.extra_args)

    def coq_args(self) -> list[str]:
        """The flags for coqc / coqidetop: bindings in order, then the other flags."""
        return [a for b in self.bindings for a in b.args()] + list(self.extra_args)

    def to_json(self) -> list[str]:
        """As recorded on disk: the Coq flags themselves (what PROOFSMITH_COQ_ARGS holds too)."""
        return self.coq_args()

    def merged(self, *others: LoadPath) -> LoadPath:
        """This load path followed by others, without repeating a binding or a run of extra flags."""
        bindings = list(self.bindings)
        extra = list(self.extra_args)
        for other in others:
            bindings += [b for b in other.bindings if b not in bindings]
            if other.extra_args and not _contains(extra, other.extra_args):
                extra += other.extra_args
        return LoadPath(tuple(bindings), tuple(extra))

    def logical_names(self) -> list[str]:
        return [b.logical for b in self.bindings if b.logical]

    # ------------------------------------------------------------ reading

    @classmethod
    def of(cls, flag: str, directory: str | Path, logical: str = "", base: Path | None = None) -> LoadPath:
        """One binding, e.g. `LoadPath.of("-R", "lib", "MyLib")`; a relative folder is from `base` (default: cwd)."""
        return cls((_binding(flag, str(directory), logical, base, f"{flag} {directory} {logical}".strip()),))

    @classmethod
    def from_coq_args(cls, args: Sequence[str], base: Path | None = None, where: str = "coq args") -> LoadPath:
        """Parse Coq flags: -Q/-R/-I become bindings, anything else is kept as an extra flag."""
        bindings: list[Binding] = []
        extra: list[str] = []
        i = 0
        while i < len(args):
            if args[i] in _BINDING_FLAGS:
                binding, i = _binding_at(args, i, base, where)
                bindings.append(binding)
            else:
                extra.append(args[i])
                i += 1
        return cls(tuple(bindings), tuple(extra))

    @classmethod
    def from_json(cls, value: Any, where: str = "load_path") -> LoadPath:
        """A recorded load path (a list of Coq flags); folders must be absolute."""
        prefix = f"{where}: " if where else ""
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise LoadPathError(f"{prefix}expected a list of Coq flags (strings), got {value!r:.80}")
        folders = [value[i + 1] for i, flag in enumerate(value[:-1]) if flag in _BINDING_FLAGS]
        relative = [folder for folder in folders if not Path(folder).is_absolute()]
        if relative:
            raise LoadPathError(f"{prefix}recorded folders must be absolute, got {relative[0]!r}")
        return cls.from_coq_args(value, where=where or "load path")

    @classmethod
    def from_project(cls, path: str | Path) -> LoadPath:
        """The load path of a `_CoqProject` file (or of the folder holding one), as coq_makefile reads it."""
        path = Path(path)
        if path.is_dir():
            path = path / PROJECT_FILE
        if not path.is_file():
            raise LoadPathError(f"{path}: no such project file (expected a {PROJECT_FILE} or the folder holding one)")
        try:
            words = _project_words(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise LoadPathError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except LoadPathError as exc:
            raise LoadPathError(f"{path}: {exc}") from None
        base = path.resolve().parent
        bindings: list[Binding] = []
        extra: list[str] = []
        i = 0
        while i < len(words):
            word = words[i]
            if word in _BINDING_FLAGS:
                binding, i = _binding_at(words, i, base, str(path))
                bindings.append(binding)
            elif word == "-arg":
                if i + 1 >= len(words):
                    raise LoadPathError(f"{path}: -arg needs a value")
                extra += _split_arg(words[i + 1])
                i += 2
            elif word in _PROJECT_OPTIONS_WITH_VALUE:
                i += 2
            elif word in ("-f", "-o"):
                raise LoadPathError(f"{path}: option {word} is not allowed in a project file")
            elif i + 2 < len(words) and words[i + 1] == "=":
                i += 3  # a variable definition, `VAR = value`
            elif word.startswith("-"):
                raise LoadPathError(f"{path}: unknown option {word}")
            else:
                i += 1  # a file or folder to build: nothing to do with the load path
        bindings.sort(key=lambda b: _PROJECT_ORDER[b.flag])  # coq_makefile passes -I, then -Q, then -R
        return cls(tuple(bindings), tuple(extra))


def find_project(start: str | Path) -> Path | None:
    """The `_CoqProject` in `start` or the nearest folder above it, as Coq's tools look for one."""
    folder = Path(start).resolve()
    if folder.is_file():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        found = candidate / PROJECT_FILE
        if found.is_file():
            return found
    return None


def _binding_at(words: Sequence[str], i: int, base: Path | None, where: str) -> tuple[Binding, int]:
    """The binding whose flag (-Q, -R or -I) is `words[i]`, its folder and logical name after it;
    with the index of the word after them."""
    flag = words[i]
    arity = _BINDING_FLAGS[flag]
    values = list(words[i + 1 : i + 1 + arity])
    if len(values) < arity:
        raise LoadPathError(f"{where}: {flag} needs {'DIR NAME' if arity == 2 else 'DIR'}")
    return _binding(flag, values[0], values[1] if arity == 2 else "", base, where), i + 1 + arity


def _binding(flag: str, directory: str, logical: str, base: Path | None, where: str) -> Binding:
    if flag != "-I" and not LOGICAL_NAME.fullmatch(logical):
        raise LoadPathError(f"{where}: {logical!r} is not a Coq logical name (dot-separated identifiers)")
    if not directory:
        raise LoadPathError(f"{where}: {flag} needs a folder")
    folder = Path(directory).expanduser()
    if not folder.is_absolute():
        folder = (base or Path.cwd()) / folder
    return Binding(flag, str(folder.resolve()), logical)


def _contains(haystack: list[str], needle: Iterable[str]) -> bool:
    needle = list(needle)
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


def _project_words(text: str) -> list[str]:
    """Split a project file into words: blanks separate, `#` starts a comment, `"..."` is one word."""
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif c == "#":
            i = _end_of_line(text, i)
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise LoadPathError("unterminated string")
            words.append(text[i + 1 : end])
            i = end + 1
        else:
            start = i
            while i < n and text[i] not in " \t\r\n#":
                i += 1
            words.append(text[start:i])
            if i < n and text[i] == "#":
                i = _end_of_line(text, i)
    return words


def _end_of_line(text: str, i: int) -> int:
    end = text.find("\n", i)
    return len(text) if end < 0 else end + 1


def _split_arg(value: str) -> list[str]:
    """An -arg value as coq_makefile splits it: on spaces, except inside single quotes (which go)."""
    out: list[str] = []
    current: list[str] = []
    quoted = pending = False
    for c in value:
        if c == "'":
            quoted, pending = not quoted, True
        elif c == " " and not quoted:
            if pending:
                out.append("".join(current))
                current, pending = [], False
        else:
            current.append(c)
            pending = True
    if pending:
        out.append("".join(current))
    return out
