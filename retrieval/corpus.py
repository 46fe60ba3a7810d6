"""The premise corpus: every library declaration, its file and the file import graph.

On disk this is LeanDojo Benchmark 4's ``corpus.jsonl``: one JSON object per
file, ``{"path", "imports", "premises": [{"full_name", "code", "start", "end",
"kind"}]}``, positions being ``[line, column]``. The Coq tracer writes the same.

Premise ids are positions in corpus order, so each file owns one contiguous id
range. A premise is accessible to a theorem if its file is transitively
imported by the theorem's file, or it lies in the same file and ends at or
before the theorem's start (ReProver's rule).

A premise marked ``"admitted": true`` (a lemma closed with ``Admitted``:
assumed, not proved; the Coq tracer marks them) is left out unless the corpus
is loaded with ``include_admitted=True``: a prover that uses one does not get
a proof the checker accepts.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from proofsmith.formats.json_files import InputFileError, read_jsonl, write_jsonl
from proofsmith.formats.leandojo import Pos
from proofsmith.retrieval.errors import RetrievalInputError

log = logging.getLogger(__name__)

# Columns are packed below lines in one int64 so positions compare as integers.
_COLUMN_BITS = 24


def pos_key(pos: Pos) -> int:
    return (int(pos[0]) << _COLUMN_BITS) | int(pos[1])


class CorpusError(RetrievalInputError):
    """A corpus file that does not follow the schema; the message names the place."""


@dataclass(frozen=True)
class Premise:
    id: int
    path: str
    full_name: str
    code: str
    start: Pos
    end: Pos
    kind: str = ""
    admitted: bool = False

    def serialize(self) -> str:
        """The text an encoder or BM25 reads for this premise."""
        return f"{self.full_name}\n{self.code}"

    def to_record(self) -> dict[str, Any]:
        record = {
            "full_name": self.full_name,
            "code": self.code,
            "start": list(self.start),
            "end": list(self.end),
            "kind": self.kind,
        }
        if self.admitted:
            record["admitted"] = True
        return record


@dataclass(frozen=True)
class SourceFile:
    path: str
    imports: tuple[str, ...]
    first_id: int
    stop_id: int  # one past the last premise id of this file


def file_record(path: str, imports: Sequence[str], premises: list[dict[str, Any]]) -> dict[str, Any]:
    """One line of ``corpus.jsonl``: a file, what it imports, and its premises (`Premise.to_record` form)."""
    return {"path": path, "imports": list(imports), "premises": premises}


def _parse_pos(value: Any, where: str) -> Pos:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(v, int) and v >= 0 for v in value)
    ):
        raise CorpusError(f"{where}: position must be [line, column], got {value!r}")
    return (value[0], value[1])


class Corpus:
    """Premises in corpus order, their files, and the transitive import relation."""

    def __init__(
        self, files: Sequence[dict[str, Any]], source: str = "<memory>", include_admitted: bool = False
    ) -> None:
        self.source = source
        self.include_admitted = include_admitted
        self.premises: list[Premise] = []
        self.files: dict[str, SourceFile] = {}
        self.skipped: int = 0  # ill-formed premises left out, as ReProver does
        self.admitted_left_out: int = 0  # premises marked admitted, without include_admitted
        self.unknown_imports: dict[str, list[str]] = {}
        for number, record in enumerate(files, 1):
            self._add_file(record, f"{source}:{number}")
        if not self.premises:
            raise CorpusError(f"{source}: the corpus has no premises")
        self._file_order = list(self.files)
        self._file_index = {p: i for i, p in enumerate(self._file_order)}
        self._file_sizes = np.array(
            [f.stop_id - f.first_id for f in self.files.values()], dtype=np.int64
        )
        self._ends = np.array([pos_key(p.end) for p in self.premises], dtype=np.int64)
        self._closure = self._transitive_imports()
        self.by_name: dict[str, Premise] = {}
        for p in self.premises:
            self.by_name.setdefault(p.full_name, p)

    # ---------------------------------------------------------------- loading

    @classmethod
    def load(cls, path: str | Path, include_admitted: bool = False) -> Corpus:
        path = Path(path)
        if path.is_dir():
            path = path / "corpus.jsonl"
        if not path.is_file():
            raise CorpusError(f"{path}: no such corpus file")
        try:
            records = [record for _, record in read_jsonl(path)]
        except InputFileError as exc:
            raise CorpusError(str(exc)) from None
        return cls(records, source=str(path), include_admitted=include_admitted)

    def _add_file(self, record: Any, where: str) -> None:
        if not isinstance(record, dict) or not isinstance(record.get("path"), str):
            raise CorpusError(f"{where}: a file record needs a string 'path'")
        path = record["path"]
        if path in self.files:
            raise CorpusError(f"{where}: file {path!r} appears twice")
        imports = record.get("imports", [])
        premises = record.get("premises", [])
        if not isinstance(imports, list) or not all(isinstance(i, str) for i in imports):
            raise CorpusError(f"{where}: 'imports' of {path!r} must be a list of paths")
        if not isinstance(premises, list):
            raise CorpusError(f"{where}: 'premises' of {path!r} must be a list")
        first = len(self.premises)
        for j, p in enumerate(premises):
            here = f"{where} ({path}, premise {j})"
            if not isinstance(p, dict):
                raise CorpusError(f"{here}: a premise must be an object")
            name, code = p.get("full_name"), p.get("code")
            # LeanDojo's corpus carries some ill-formed entries (no name, empty
            # code, mutual blocks named "[a, b]"); ReProver skips them too.
            if not isinstance(name, str) or not name or not isinstance(code, str) or not code:
                self.skipped += 1
                continue
            if name.startswith("[") and name.endswith("]"):
                self.skipped += 1
                continue
            admitted = p.get("admitted", False)
            if not isinstance(admitted, bool):
                raise CorpusError(f"{here}: 'admitted' of {name} must be true or false")
            start = _parse_pos(p.get("start"), f"{here} start")
            end = _parse_pos(p.get("end"), f"{here} end")
            if pos_key(end) < pos_key(start):
                raise CorpusError(f"{here}: {name} ends before it starts")
            if admitted and not self.include_admitted:
                self.admitted_left_out += 1
                continue
            self.premises.append(
                Premise(len(self.premises), path, name, code, start, end, str(p.get("kind", "")), admitted)
            )
        self.files[path] = SourceFile(path, tuple(imports), first, len(self.premises))

    def _transitive_imports(self) -> list[np.ndarray]:
        """For each file (in corpus order), a boolean mask over files it imports transitively."""
        n = len(self._file_order)
        direct: list[list[int]] = []
        for path in self._file_order:
            known = []
            for imp in self.files[path].imports:
                if imp in self._file_index:
                    known.append(self._file_index[imp])
                else:
                    self.unknown_imports.setdefault(path, []).append(imp)
            direct.append(known)
        if self.unknown_imports:
            # A file the tracer could not read contributes no premises, so
            # ignoring it cannot make anything wrongly accessible.
            log.warning(
                "%s: %d files import files missing from the corpus (ignored)",
                self.source,
                len(self.unknown_imports),
            )
        closure: list[np.ndarray | None] = [None] * n
        state = [0] * n  # 0 unvisited, 1 on stack, 2 done
        for root in range(n):
            if state[root]:
                continue
            stack = [(root, 0)]
            state[root] = 1
            while stack:
                node, i = stack[-1]
                if i < len(direct[node]):
                    stack[-1] = (node, i + 1)
                    child = direct[node][i]
                    if state[child] == 1:
                        raise CorpusError(
                            f"{self.source}: import cycle through {self._file_order[child]!r}"
                        )
                    if state[child] == 0:
                        state[child] = 1
                        stack.append((child, 0))
                    continue
                stack.pop()
                mask = np.zeros(n, dtype=bool)
                for child in direct[node]:
                    mask[child] = True
                    mask |= closure[child]  # type: ignore[operator]
                closure[node] = mask
                state[node] = 2
        return closure  # type: ignore[return-value]

    def save(self, path: str | Path) -> None:
        """Write the corpus back as ``corpus.jsonl`` (premises kept, skipped ones gone)."""
        write_jsonl(Path(path), (
            file_record(f.path, f.imports, [p.to_record() for p in self.premises[f.first_id : f.stop_id]])
            for f in self.files.values()
        ))

    # -------------------------------------------------------------- queries

    def __len__(self) -> int:
        return len(self.premises)

    def __getitem__(self, premise_id: int) -> Premise:
        return self.premises[premise_id]

    @property
    def content_hash(self) -> str:
        """Hash of what the corpus says (premise texts, files, imports), not of file bytes."""
        cached = getattr(self, "_content_hash", None)
        if cached is None:
            h = hashlib.sha256()
            for f in self.files.values():
                h.update(json.dumps([f.path, f.imports, f.stop_id - f.first_id]).encode())
                for p in self.premises[f.first_id : f.stop_id]:
                    h.update(json.dumps([p.full_name, p.code, p.start, p.end]).encode())
            cached = self._content_hash = h.hexdigest()
        return cached

    def texts(self) -> list[str]:
        return [p.serialize() for p in self.premises]

    def file_premises(self, path: str) -> list[Premise]:
        f = self._file(path)
        return self.premises[f.first_id : f.stop_id]

    def imported_files(self, path: str) -> list[str]:
        """Files that ``path`` imports, directly or not."""
        mask = self._closure[self._file_index[self._file(path).path]]
        return [self._file_order[i] for i in np.flatnonzero(mask)]

    def _file(self, path: str) -> SourceFile:
        try:
            return self.files[path]
        except KeyError:
            raise CorpusError(f"file {path!r} is not in the corpus {self.source}") from None

    def accessible_mask(self, path: str, pos: Pos) -> np.ndarray:
        """Boolean mask over premise ids: what a theorem starting at ``pos`` in ``path`` may use."""
        f = self._file(path)
        mask = np.repeat(self._closure[self._file_index[path]], self._file_sizes)
        own = slice(f.first_id, f.stop_id)
        mask[own] = self._ends[own] <= pos_key(pos)
        return mask

    def accessible_ids(self, path: str, pos: Pos) -> np.ndarray:
        return np.flatnonzero(self.accessible_mask(path, pos))

    def locate(self, path: str, pos: Pos) -> Premise | None:
        """The premise of file ``path`` whose span contains ``pos`` (how provenances resolve)."""
        if path not in self.files:
            return None
        key = pos_key(pos)
        for p in self.file_premises(path):
            if pos_key(p.start) <= key <= pos_key(p.end):
                return p
        return None

    def resolve(self, full_name: str, def_path: str | None, def_pos: Pos | None) -> Premise | None:
        """A used premise from its provenance.

        By name when the name is in the corpus (in ``def_path``, if given):
        several premises can share one span (an inductive type and its
        constructors), so a position alone can be ambiguous. Otherwise by
        the definition site, as ReProver does.
        """
        named = self.by_name.get(full_name)
        if named is not None and (def_path is None or named.path == def_path):
            return named
        if def_path is not None and def_pos is not None:
            found = self.locate(def_path, def_pos)
            if found is not None:
                return found
        return named
