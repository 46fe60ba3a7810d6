"""Where a theorem lives in a Coq project, and the script that leads up to it.

A theorem in context names a place instead of a header: a project (`stdlib`,
or a folder whose `_CoqProject` gives the load path), a `.v` file inside it
and the theorem. Opening it replays the file, started as its own module
(`-top Coq.Arith.PeanoNat`; `-noinit` for Coq's own Init files, which are
compiled without the Prelude), sentence by sentence up to the statement;
nothing after the statement is ever loaded and the file's own `.vo` is never
required, so the theorem and every later lemma are invisible to the proof.
This module is the pure part: which file, which module, which sentences.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from proofsmith.checker.coq.library import coqlib, reserved_binding
from proofsmith.checker.coq.sentences import CoqSyntaxError, Sentence, SentenceKind, split_sentences, strip_comments
from proofsmith.checker.types import Place, Theorem
from proofsmith.formats.coq_load_path import LoadPath, LoadPathError

STDLIB = "stdlib"
THEOREM_WORDS = frozenset(
    {"Theorem", "Lemma", "Fact", "Remark", "Corollary", "Proposition", "Property", "Example"}
)
_MODULE_OPEN = re.compile(r"^(?:Local\s+|Global\s+)?(?:Declare\s+)?Module\s+(?:Type\s+)?(?:(?:Import|Export)\s+)?([A-Za-z_][\w']*)")
_SECTION_OPEN = re.compile(r"^Section\s+([A-Za-z_][\w']*)")
_END = re.compile(r"^End\s+([A-Za-z_][\w']*)\s*\.$")
_DECLARED = re.compile(r"^(?:#\[[^\]]*\]\s*)*(?:Local\s+|Global\s+|Polymorphic\s+|Monomorphic\s+)*(\w+)\s+([^\W\d][\w']*)")


class ContextError(ValueError):
    """The place does not name a theorem of a readable file; the message says which part is wrong."""


@dataclass(frozen=True)
class ProjectFile:
    """A `.v` file of a project, as coqidetop must be started to replay it as its own module."""

    project: str  # "stdlib" or the folder holding its _CoqProject
    path: str  # as given, inside the project (stdlib: theories/Arith/PeanoNat.v)
    source: Path
    module: str
    load_path: LoadPath

    @property
    def coq_args(self) -> list[str]:
        noinit = ["-noinit"] if self.module.startswith("Coq.Init.") else []
        return [*self.load_path.coq_args(), "-top", self.module, *noinit]


def project_file(project: str, path: str) -> ProjectFile:
    """Resolve a project (`stdlib` or a folder with a `_CoqProject`) and a file inside it."""
    if project == STDLIB:
        root = coqlib()
        rel = Path(path)
        parts = rel.with_suffix("").parts
        if not parts or parts[0] != "theories":
            raise ContextError(f"{path}: a stdlib file is named from its repository root, e.g. theories/Arith/PeanoNat.v")
        source = root / rel
        if not source.is_file():
            raise ContextError(f"{path}: no such file in the stdlib ({source})")
        return ProjectFile(project, path, source, ".".join(["Coq", *parts[1:]]), LoadPath())
    folder = Path(project)
    try:
        load_path = LoadPath.from_project(folder)
    except LoadPathError as exc:
        raise ContextError(str(exc)) from None
    reserved = reserved_binding(load_path.bindings)
    if reserved:
        raise ContextError(f"{folder / '_CoqProject'}: {reserved}")
    source = (folder / path).resolve()
    if not source.is_file():
        raise ContextError(f"{path}: no such file in project {project}")
    for binding in load_path.bindings:
        root = Path(binding.directory)
        if binding.logical and source.is_relative_to(root):
            parts = source.relative_to(root).with_suffix("").parts
            return ProjectFile(project, path, source, ".".join([binding.logical, *parts]), load_path)
    raise ContextError(f"{path}: not under any -Q/-R folder of {folder / '_CoqProject'}")


@dataclass(frozen=True)
class Declaration:
    """A theorem-like sentence of a file, with its qualified name as the file would declare it."""

    index: int  # sentence index
    name: str  # fully qualified (file module, modules; sections do not qualify)
    line: int  # first line of the sentence, from 1


@dataclass(frozen=True)
class FileScript:
    """The sentences of a project file, and the theorems they state."""

    file: ProjectFile
    sentences: tuple[Sentence, ...]
    declarations: tuple[Declaration, ...]
    line_starts: tuple[int, ...]  # offset of each line's first character

    def line_of(self, index: int) -> int:
        """The line (from 1) where sentence `index` starts."""
        offset = self.sentences[min(index, len(self.sentences) - 1)].start
        return bisect.bisect_right(self.line_starts, offset)

    def find(self, name: str, line: int | None = None) -> Declaration:
        """The theorem `name` (qualified, or short when unambiguous), optionally the one starting at `line`."""
        short = name.rsplit(".", 1)[-1]
        matches = [d for d in self.declarations if d.name == name or (d.name.rsplit(".", 1)[-1] == short and "." not in name)]
        if line is not None:
            # a functor's body is traced under the name of the module that includes it: trust the line
            at_line = [d for d in self.declarations if d.line == line and d.name.rsplit(".", 1)[-1] == short]
            # the line decides: a name that is not the theorem at that line is an error, never another theorem
            matches = [d for d in matches if d.line == line] or at_line
        if not matches:
            raise ContextError(f"{self.file.path}: no theorem named {name}" + (f" at line {line}" if line else ""))
        if len(matches) > 1:
            raise ContextError(f"{self.file.path}: {name} names {len(matches)} theorems (lines "
                               + ", ".join(str(d.line) for d in matches) + "); give the qualified name or the line")
        return matches[0]

    def statement(self, declaration: Declaration) -> str:
        return self.sentences[declaration.index].text


@lru_cache(maxsize=64)
def _script(project: str, path: str, mtime_ns: int) -> FileScript:
    file = project_file(project, path)
    text = file.source.read_text(encoding="utf-8")
    try:
        sentences = tuple(split_sentences(text))
    except CoqSyntaxError as exc:
        raise ContextError(f"{path}: {exc}") from None
    line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    declarations = _declarations(file.module, sentences, line_starts)
    return FileScript(file, sentences, tuple(declarations), tuple(line_starts))


def file_script(place: Place) -> FileScript:
    """The script of the file a place names (cached while the file is unchanged)."""
    file = project_file(place.project, place.file)
    return _script(place.project, place.file, file.source.stat().st_mtime_ns)


def _declarations(module: str, sentences: tuple[Sentence, ...], line_starts: list[int]) -> list[Declaration]:
    """The theorems a file states, named as it declares them (what a place looks up; what the
    problem assumes is the kernel's answer, never read from this text)."""
    scopes: list[tuple[str, str]] = []  # ("module" | "section", name)
    found = []
    for index, sentence in enumerate(sentences):
        if sentence.kind is not SentenceKind.COMMAND:
            continue
        body = strip_comments(sentence.text).strip()
        opened = _opened_module(body)
        if opened:
            scopes.append(("module", opened.group(1)))
            continue
        section = _SECTION_OPEN.match(body)
        if section:
            scopes.append(("section", section.group(1)))
            continue
        end = _END.match(body)
        if end:
            if scopes and scopes[-1][1] == end.group(1):
                scopes.pop()
            continue
        modules = [module, *(name for kind, name in scopes if kind == "module")]
        declared = _DECLARED.match(body)
        if declared and declared.group(1) in THEOREM_WORDS:
            line = bisect.bisect_right(line_starts, sentence.start)
            found.append(Declaration(index, ".".join([*modules, declared.group(2)]), line))
    return found


_WITH = re.compile(r"\bwith\s+(?:Module|Definition)\s+[\w.']+\s*:=.*?(?=\s+with\b|\.?\s*$)", re.S)


def _opened_module(body: str) -> re.Match | None:
    """The match of a sentence that opens a module or module type (not one defined with `:=`)."""
    opened = _MODULE_OPEN.match(body)
    if opened is None or body.startswith("Declare"):
        return None
    return None if ":=" in _WITH.sub("", body) else opened


def theorem_in_context(project: str, file: str, name: str, line: int | None = None) -> Theorem:
    """The theorem `name` of `file` in `project`, to be proved where it stands: its statement is the file's own."""
    place = Place(project, file, line)
    script = file_script(place)
    declaration = script.find(name, line)
    return Theorem(declaration.name, script.statement(declaration), place=Place(project, file, declaration.line))
