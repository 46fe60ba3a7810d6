"""Synthetic theorems in the tactic memory (Alchemy's mutants for k-nearest neighbours).

A mutant corpus (formats.mutant_record, written by `proofsmith synth mutate`)
holds verified new theorems, each with its proof traced step by step and the
library theorem it was mutated from (its parent). `memory_with_mutants` is the
memory of a trace's `<strategy>/train.json` plus the proofs of the mutants
`select_mutants` keeps, which are those a memory of that train part may hold
without a leak:

- the parent is a theorem of the train part (a mutant of a val or test theorem
  is that held-out theorem's proof in other words);
- no statement key (formats.statement_key: up to bound names and spacing) of
  the mutant is that of a val or test theorem of the strategy. A mutant is
  keyed by the key mutation recorded and by its statement's text; a held-out
  theorem by its printed type in the trace (`type`) and, where the corpus has
  mutation's source log beside it (`OUT.source.jsonl`), by the key mutation
  computed for it in Coq, the way mutants are keyed;
- its proof has a step that does not cite its parent (below), and its name
  is no theorem's of the trace.

Of a kept mutant's proof, the steps that cite its parent (`exact (@P x H)`,
`apply P`: the last step of Alchemy's inverse proof) are not remembered. They
say "this goal is the parent", which is false of every other goal; in the
stdlib, where the memory's nearest states for a target are often a parent's
and its mutants', they took votes (and the softmax's mass) from the proofs
that work: with them, 94 of 200 `random/test` theorems against the plain
memory's 103. What a mutant teaches is the step from its statement to its
parent's (the inverse rewrite or apply), after which the parent's own proof
is in the memory.

The memory with mutants is cached like the train part's (keyed by the hashes
of the trace's parts, the corpus and its source log), and records what it
added in `source["mutants"]` (`MutantSelection.to_json`), which an eval run
writes into its run.json.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proofsmith.formats.json_files import InputFileError, read_jsonl
from proofsmith.formats.leandojo import TracedTheorem, read_split
from proofsmith.formats.mutant_record import MutantRecord, read_records
from proofsmith.formats.statement_key import statement_key
from proofsmith.prover.tactic_memory import TacticMemory, TacticMemoryError, file_sha256, memory_encoder, train_file

__all__ = ["MutantSelection", "cites", "memory_with_mutants", "mutant_steps", "select_mutants", "source_log_of"]

HELD_OUT_PARTS = ("val", "test")
# How many (mutant, held-out theorem) pairs of restated statements a selection lists by name.
LISTED_RESTATEMENTS = 20
# `Theorem NAME : TYPE.` as mutation writes a mutant's statement.
_DECLARATION = re.compile(r"^\s*[A-Z]\w*\s+[^\W\d][\w']*\s*:(?P<type>.*)\.\s*$", re.S)


@dataclass(frozen=True)
class MutantSelection:
    """What a mutant corpus adds to the memory of a strategy's train part, and what it leaves out and why."""

    corpus: str  # the corpus file, resolved
    corpus_sha256: str
    strategy: str
    records: int
    added: int  # mutants whose proofs the memory holds
    steps_added: int
    parent_steps_dropped: int  # steps of kept mutants' proofs that cite their parent, not remembered
    parent_not_in_train: int  # the parent is a val or test theorem, or no theorem of the trace
    restates_held_out: int  # a statement key equal to a val or test theorem's
    no_steps: int
    name_taken: int  # the mutant's name is a trace theorem's or an earlier mutant's
    held_out_theorems: int
    held_out_keys: int  # distinct keys of the val and test theorems
    held_out_unkeyed: int  # held-out theorems with no printed type and no source-log key
    held_out_in_source_log: int  # held-out theorems the source log keys (as Coq printed them, like mutants)
    source_log: str | None  # mutation's source log, where the corpus has one beside it
    restated: tuple[tuple[str, str], ...] = field(default=())  # (mutant, held-out theorem), the first few

    def to_json(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus, "corpus_sha256": self.corpus_sha256, "strategy": self.strategy,
            "records": self.records, "added": self.added, "steps_added": self.steps_added,
            "parent_steps_dropped": self.parent_steps_dropped,
            "excluded": {"parent_not_in_train": self.parent_not_in_train, "restates_held_out": self.restates_held_out,
                         "no_steps": self.no_steps, "name_taken": self.name_taken},
            "held_out": {"theorems": self.held_out_theorems, "keys": self.held_out_keys,
                         "unkeyed": self.held_out_unkeyed, "in_source_log": self.held_out_in_source_log,
                         "source_log": self.source_log},
            "restated": [{"mutant": m, "held_out": t} for m, t in self.restated],
        }


def source_log_of(corpus: Path) -> Path:
    """Where `proofsmith synth mutate` writes the keys of the library's own theorems for corpus OUT."""
    return corpus.with_name(corpus.name + ".source.jsonl")


def cites(tactic: str, name: str) -> bool:
    """Whether a tactic names the constant `name` (qualified as given, or by its last component)."""
    short = name.rsplit(".", 1)[-1]
    return any(re.search(rf"(?<![\w'.]){re.escape(n)}(?![\w'])", tactic) for n in {name, short})


def mutant_steps(record: MutantRecord) -> tuple[list[tuple[str, str]], int]:
    """A mutant's proof as (state before, tactic) steps, the way a traced theorem's are remembered, less
    the steps that cite its parent (module docstring); and how many those were."""
    steps = [(step["state_before"], step["tactic"].strip()) for step in record.traced_tactics
             if step["state_before"].strip() and step["tactic"].strip()]
    kept = [(state, tactic) for state, tactic in steps if not cites(tactic, record.parent)]
    return kept, len(steps) - len(kept)


def statement_keys(record: MutantRecord) -> set[str]:
    """The keys of a mutant: the one mutation recorded, and its statement's text's (empty when unreadable)."""
    keys = {record.key} if record.key.strip() else set()
    declaration = _DECLARATION.match(record.statement)
    if declaration is not None:
        keys.add(statement_key(declaration["type"]))
    return keys


def _require_corpus(corpus: Path) -> None:
    if not corpus.is_file():
        raise TacticMemoryError(f"memory_mutants: {str(corpus)!r} is not a file (expected a mutant corpus "
                                "written by `proofsmith synth mutate`)")


def _read_corpus(corpus: Path) -> list[MutantRecord]:
    _require_corpus(corpus)
    try:
        return [record for _, record in read_records(corpus)]
    except InputFileError as exc:
        raise TacticMemoryError(f"memory_mutants: not a mutant corpus: {exc}") from None


def _held_out_files(trace_dir: Path, strategy: str) -> list[Path]:
    train = train_file(trace_dir, strategy)
    files = [train.parent / f"{part}.json" for part in HELD_OUT_PARTS]
    for path in files:
        if not path.is_file():
            raise TacticMemoryError(f"memory_mutants: {str(path)!r} does not exist; mutants restating a held-out "
                                    "theorem are left out, so the trace's val and test parts must be there")
    return files


def _held_out(trace_dir: Path, strategy: str) -> list[TracedTheorem]:
    return [theorem for path in _held_out_files(trace_dir, strategy) for theorem in read_split(path)]


def _source_log_keys(path: Path) -> dict[str, set[str]]:
    """Theorem name -> the keys mutation's source log gives it (records with an error have none)."""
    keys: dict[str, set[str]] = {}
    for line, record in read_jsonl(path, missing_ok=True, appended=True):
        name, key = record.get("name"), record.get("key")
        if not isinstance(name, str) or not (key is None or isinstance(key, str)):
            raise InputFileError(path, "expected a string name and key", line)
        if key:
            keys.setdefault(name, set()).add(key)
    return keys


def held_out_keys(held_out: Iterable[TracedTheorem], source_keys: dict[str, set[str]]) -> tuple[dict[str, str], int]:
    """Key -> a held-out theorem with that key, and how many held-out theorems have no key at all."""
    keys: dict[str, str] = {}
    unkeyed = 0
    for theorem in held_out:
        printed = theorem.extra.get("type")
        own = set(source_keys.get(theorem.full_name, ()))
        if isinstance(printed, str) and printed.strip():
            own.add(statement_key(printed))
        unkeyed += not own
        for key in own:
            keys.setdefault(key, theorem.full_name)
    return keys, unkeyed


def select_mutants(corpus: Path, trace_dir: Path, strategy: str) -> tuple[MutantSelection, list[tuple[str, list[tuple[str, str]]]]]:
    """The mutants of `corpus` a memory of `<trace_dir>/<strategy>/train.json` may hold (module docstring),
    and their proofs as (name, steps). TacticMemoryError naming the file for a missing, empty or
    malformed corpus or trace."""
    records = _read_corpus(corpus)
    train_names = {t.full_name for t in read_split(train_file(trace_dir, strategy))}
    held_out = _held_out(trace_dir, strategy)
    log = source_log_of(corpus)
    try:
        logged = _source_log_keys(log)
    except InputFileError as exc:
        raise TacticMemoryError(f"memory_mutants: mutation's source log beside the corpus: {exc}") from None
    keys, unkeyed = held_out_keys(held_out, logged)
    taken = train_names | {t.full_name for t in held_out}
    proofs: list[tuple[str, list[tuple[str, str]]]] = []
    restated: list[tuple[str, str]] = []
    not_train = no_steps = name_taken = parent_steps = 0
    for record in records:
        if record.parent not in train_names:
            not_train += 1
            continue
        same = next((keys[k] for k in sorted(statement_keys(record)) if k in keys), None)
        if same is not None:
            restated.append((record.name, same))
            continue
        steps, citing = mutant_steps(record)
        if not steps:
            no_steps += 1
        elif record.name in taken:
            name_taken += 1
        else:
            taken.add(record.name)
            proofs.append((record.name, steps))
            parent_steps += citing
    selection = MutantSelection(
        corpus=str(corpus.resolve()), corpus_sha256=file_sha256(corpus), strategy=strategy, records=len(records),
        added=len(proofs), steps_added=sum(len(steps) for _, steps in proofs), parent_steps_dropped=parent_steps,
        parent_not_in_train=not_train,
        restates_held_out=len(restated), no_steps=no_steps, name_taken=name_taken, held_out_theorems=len(held_out),
        held_out_keys=len(keys), held_out_unkeyed=unkeyed,
        held_out_in_source_log=sum(t.full_name in logged for t in held_out), source_log=str(log.resolve()) if log.is_file() else None,
        restated=tuple(restated[:LISTED_RESTATEMENTS]),
    )
    return selection, proofs


def _inputs(trace_dir: Path, strategy: str, corpus: Path) -> Sequence[Path]:
    """The files a memory with mutants is built from; TacticMemoryError naming one that is not there."""
    _require_corpus(corpus)
    log = source_log_of(corpus)
    return [train_file(trace_dir, strategy), *_held_out_files(trace_dir, strategy), corpus,
            *([log] if log.is_file() else [])]


def memory_with_mutants(trace_dir: str | Path, strategy: str, corpus: Path, encoder=None,
                        cache_dir: str | Path | None = None, progress: bool = False) -> TacticMemory:
    """The memory of `<trace_dir>/<strategy>/train.json` plus the mutants of `corpus` that
    `select_mutants` keeps; its `source["mutants"]` says what was added and left out."""
    trace_dir = Path(trace_dir)
    inputs = _inputs(trace_dir, strategy, corpus)
    if encoder is None:
        encoder = memory_encoder()
    # "mutants-2": the selection that leaves out steps citing the parent (another memory than "mutants:")
    digest = hashlib.sha256(("mutants-2:" + ",".join(file_sha256(p) for p in inputs)).encode()).hexdigest()

    def build(folder: Path) -> TacticMemory:
        selection, proofs = select_mutants(corpus, trace_dir, strategy)
        memory = TacticMemory.from_trace(trace_dir, strategy, encoder=encoder, cache_dir=cache_dir, progress=progress)
        memory.add_proofs(proofs, learned=False, progress="embedding mutant states" if progress else None)
        memory.source["mutants"] = selection.to_json()
        memory.save(folder)
        return memory

    return TacticMemory.cached(digest, encoder, cache_dir, build)
