"""Where an F* definition is checked: in its file's checked prefix, or in a scratch module.

A `Theorem` for the F* backend is a definition to write: `name` is its fully
qualified name (`Harness.always_foo`), `statement` its `val` declaration (empty
when the definition has none), `header` the text pushed together with every
candidate, and the candidate (the "proof") the `let` that defines it.

- In its file (the FStarDataSet harness's way): when `source.path` names an
  `.fst`/`.fsti`, F* is started on that file (`fstar.exe --ide BASENAME`,
  found on `--include`) and `push-partial-checked-file {"until-lid": name}`
  loads the file's checked declarations before the definition, so a
  candidate can use everything above it and nothing from itself down. Each
  candidate is pushed as `header + statement + candidate` (the header is the
  problem's opens, abbreviations and solver options), then popped.
- In a scratch module: otherwise. The header is the module's prefix (its
  first declaration names the module; `module Scratch` is put in front when
  it does not); F* is started on `MODULE.fst`, given the header as that
  file's contents (`vfs-add`, which is what F* computes dependencies from) and
  the header is pushed once; each candidate is `statement + candidate`.

The base (what stays pushed between candidates) is keyed like Coq's headers:
one process per file, one base at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from proofsmith.checker.types import Theorem

SCRATCH_MODULE = "Scratch"
_MODULE_DECL = re.compile(r"\A(?:\s|\(\*.*?\*\)|//[^\n]*)*module\s+([A-Z][\w.']*)\s*(?:\n|$)", re.S)
_MODULE_NAME = re.compile(r"^[A-Z][\w']*(?:\.[A-Z][\w']*)*$")


@dataclass(frozen=True)
class FStarTarget:
    name: str  # fully qualified
    statement: str
    header: str
    file: str  # the file F* is started on
    checked: bool  # True: the file's checked prefix; False: a scratch module

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    @property
    def module(self) -> str:
        return PurePosixPath(self.file).stem if self.checked else self.file.removesuffix(".fst")

    @property
    def base_key(self) -> tuple[str, str, str]:
        """What must be loaded before a candidate: the file and either the definition or the header."""
        return (self.file, "until", self.name) if self.checked else (self.file, "header", self.scratch_prefix)

    @property
    def scratch_prefix(self) -> str:
        """The module prefix pushed once in scratch mode (the header, with a `module` line first)."""
        if _MODULE_DECL.match(self.header):
            return self.header
        return f"module {self.module}\n{self.header}"

    def snippet(self, candidate: str) -> tuple[str, int]:
        """The code pushed for a candidate and the line it starts on."""
        parts = [self.header, self.statement, candidate] if self.checked else [self.statement, candidate]
        code = "\n".join(p for p in parts if p)
        if self.checked:
            return code, 1
        return code, _line_count(self.scratch_prefix) + 1


def _line_count(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def target_of(theorem: Theorem) -> FStarTarget:
    """Where `theorem` is checked; ValueError when its name cannot be a definition's."""
    name = theorem.name.strip()
    if not name or not re.fullmatch(r"[\w'.]+", name) or name.startswith(".") or name.endswith("."):
        raise ValueError(f"{theorem.name!r} is not an F* definition name (expected Module.name or name)")
    statement = theorem.statement.strip()
    if statement == "<UNK>":  # FStarDataSet's marker for a definition without a `val`
        statement = ""
    path = theorem.source.path if theorem.source else ""
    if path.endswith((".fst", ".fsti")):
        file = PurePosixPath(path).name
        module = PurePosixPath(file).stem
        qualified = name if "." in name else f"{module}.{name}"
        return FStarTarget(qualified, statement, theorem.header, file, checked=True)
    declared = _MODULE_DECL.match(theorem.header)
    if declared:
        module = declared.group(1)
    elif "." in name:
        module = name.rsplit(".", 1)[0]
    else:
        module = SCRATCH_MODULE
    if not _MODULE_NAME.match(module):
        raise ValueError(f"{module!r} is not an F* module name")
    qualified = name if name.startswith(module + ".") else f"{module}.{name.rsplit('.', 1)[-1]}"
    return FStarTarget(qualified, statement, theorem.header, f"{module}.fst", checked=False)
