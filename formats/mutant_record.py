"""The mutant corpus on disk: one verified, de-duplicated mutant per JSON line.

A record (`MutantRecord`: written by `proofsmith synth mutate`, read back on
resume, by `proofsmith eval` and by the export in data_synth.mutant_corpus) is a Coq problem
(``name``, ``split``, ``header``, ``statement``, ``proof``, ``source`` as
``owner/repo@commit path``: what `proofsmith check` and the Coq statement
loader of `proofsmith eval` read) plus its provenance (``parent``,
``parent_statement``, ``rule``, ``premise``, ``location``, ``proof_style``,
``checker``), its proof traced step by step (``traced_tactics``: tactic, state
before, state after), and ``load_path``: the Coq flags that load the library
its header requires (`proofsmith check` and `proofsmith eval` use them, so the
records need nothing more).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from proofsmith.formats.coq_load_path import LoadPath, LoadPathError
from proofsmith.formats.json_files import InputFileError, get_field, get_position, read_jsonl, write_jsonl
from proofsmith.formats.leandojo import PARTS

# A mutant's split is the part of the exported benchmark's random/ split it lands in.
SPLITS = PARTS
_SOURCE = re.compile(r"^(?P<repo>[^@\s]+)@(?P<commit>\S+) (?P<path>\S.*)$")


def split_of(parent: str, val_percent: int = 5, test_percent: int = 5) -> str:
    bucket = int(hashlib.sha1(parent.encode()).hexdigest(), 16) % 100
    if bucket < 100 - val_percent - test_percent:
        return "train"
    return "val" if bucket < 100 - test_percent else "test"


@dataclass(frozen=True)
class Mutant:
    """A verified mutant: a new theorem with its proof and provenance."""

    name: str
    header: str
    statement: str
    proof: str
    key: str  # the statement up to bound names: mutants are unique by key
    parent: str
    parent_statement: str
    rule: str
    use: str
    premise: str
    location: str
    discovery_tactic: str
    proof_style: str  # "inverse" (Alchemy) or "replay"
    traced_tactics: tuple[dict[str, str], ...]  # tactic, state_before, state_after
    checker: dict[str, Any]



@dataclass(frozen=True)
class MutantRecord(Mutant):
    """One line of a mutant corpus: a mutant and where it stands (`to_json` gives the order of the fields)."""

    split: str
    source: str  # owner/repo@commit path (of the parent's file)
    file_path: str
    position: tuple[int, int]  # the parent's end
    load_path: LoadPath | None  # None in corpora written before load paths were recorded

    @classmethod
    def of(cls, m: Mutant, source: str, file_path: str, position: tuple[int, int],
           load_path: LoadPath = LoadPath()) -> MutantRecord:
        mutant = {f.name: getattr(m, f.name) for f in fields(Mutant)}
        return cls(**mutant, split=split_of(m.parent), source=source, file_path=file_path,
                   position=(position[0], position[1]),
                   load_path=load_path)

    def to_json(self) -> dict[str, Any]:
        record = {
            "name": self.name,
            "split": self.split,
            "header": self.header,
            "statement": self.statement,
            "proof": self.proof,
            "source": self.source,
            "parent": self.parent,
            "parent_statement": self.parent_statement,
            "rule": self.rule,
            "use": self.use,
            "premise": self.premise,
            "location": self.location,
            "proof_style": self.proof_style,
            "discovery_tactic": self.discovery_tactic,
            "key": self.key,
            "file_path": self.file_path,
            "position": list(self.position),
            "traced_tactics": list(self.traced_tactics),
            "checker": self.checker,
        }
        if self.load_path is not None:
            record["load_path"] = self.load_path.to_json()
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any], path: Path, line: int) -> MutantRecord:
        """A record as read; InputFileError names file, line and field of anything wrong."""

        def text(name: str, nonempty: bool = False) -> str:
            return get_field(record, name, str, path, line, nonempty=nonempty)

        split = text("split", nonempty=True)
        if split not in SPLITS:
            raise InputFileError(path, f"{split!r} is not one of {', '.join(SPLITS)}", line, "split")
        name, header, statement = text("name", nonempty=True), text("header"), text("statement", nonempty=True)
        rule, parent, source = text("rule", nonempty=True), text("parent", nonempty=True), text("source", nonempty=True)
        if _SOURCE.match(source) is None:
            raise InputFileError(path, "expected 'owner/repo@commit path'", line, "source")
        tactics = get_field(record, "traced_tactics", list, path, line)
        for j, step in enumerate(tactics):
            if not (isinstance(step, dict) and all(isinstance(step.get(k), str) for k in _STEP_KEYS)):
                raise InputFileError(path, f"step {j}: expected {{{', '.join(_STEP_KEYS)}}} strings", line,
                                     "traced_tactics")
        load_path = None
        if "load_path" in record:
            try:
                load_path = LoadPath.from_json(record["load_path"], where="")
            except LoadPathError as exc:
                raise InputFileError(path, str(exc), line, "load_path") from None
        return cls(
            name=name, split=split, header=header, statement=statement, proof=text("proof"), source=source,
            parent=parent, parent_statement=text("parent_statement"), rule=rule, use=text("use"),
            premise=text("premise"), location=text("location"), proof_style=text("proof_style"),
            discovery_tactic=text("discovery_tactic"), key=text("key"), file_path=text("file_path"),
            position=get_position(record, "position", path, line), traced_tactics=tuple(tactics),
            checker=get_field(record, "checker", dict, path, line), load_path=load_path,
        )

    def source_parts(self) -> tuple[str, str, str]:
        """(owner/repo, commit, path) of `source`."""
        match = _SOURCE.match(self.source)
        if match is None:  # from_json checks it; a record built in code may not
            raise ValueError(f"mutant {self.name}: source {self.source!r} is not 'owner/repo@commit path'")
        return match["repo"], match["commit"], match["path"]


_STEP_KEYS = ("tactic", "state_before", "state_after")


def read_records(path: Path, *, missing_ok: bool = False) -> Iterator[tuple[int, MutantRecord]]:
    """(line number, record) for every mutant of a corpus file (formats.json_files' torn-tail policy)."""
    for line, record in read_jsonl(path, missing_ok=missing_ok, appended=True):
        yield line, MutantRecord.from_json(record, path, line)


def keep_parents(path: Path, done: set[str]) -> int:
    """Drop records whose parent is not in `done` (a run killed mid-parent); returns how many."""
    records = [record for _, record in read_jsonl(path, missing_ok=True, appended=True)]
    kept = [r for r in records if r.get("parent") in done]
    if len(kept) < len(records):
        write_jsonl(path, kept)
    return len(records) - len(kept)
