"""Decision procedures in a library theorem's context, only where loading them cannot leak.

A theorem proved where it stands sees only what its file imports, so `lia`
is there only if the file loads Lia. Loading more before the statement
(`From Coq Require Import Lia.`) is sound for the protocol only if nothing it
loads is the theorem's own file or a file that depends on it: Lia's library
rests on ZArith, so a theorem of `ZArith/BinInt.v` proved with `lia` would
be proved with a library built on top of that very theorem. `leak_check`
decides this on the trace's own import graph (corpus.jsonl, transitive): a
procedure is refused when the target's file is among the files its modules
load, directly or not (a file depending on the target's file imports it, so
the one test covers both), and when a module it needs is not a file of the
trace (its imports, hence the question, are unknown), unless that module is
of Coq's own library (`Coq.*`) and the target is not: the installed stdlib
was compiled without any other library, and no load path may bind `Coq`
(checker.coq.library.reserved_binding), so nothing it loads can be the
target's file. A procedure from outside the traced library (CoqHammer) is
refused for the library it may be built on (the stdlib), allowed for a
library it cannot depend on.

What a sound decision brings is `LoadDecision.loaded` (the library files its
modules bring that the target's file did not import already); `decide` gives
every requested procedure's decision for one target as a `ProcedureLoading`,
whose `modules` (those of the sound procedures) an eval run puts in the
theorem's `Place.loads` and whose `record()` it writes beside each result, so
the row ("memory + decision procedures where sound") is never confused with
the strict in-file row, which stays the default.

Where they are loaded: inside the proof, right after the statement is opened,
as a trusted sentence the checker sends itself (`Require Import
Coq.micromega.Lia.`; Coq 8.16 accepts a Require in proof mode), never from
proof text (the guard refuses a `Require` a proof holds). The statement is
thus elaborated exactly as in the strict row: no notation, scope, coercion or
instance a module brings can change what it means; only the proof sees them.
`proofsmith recheck` replays the same sentence after the statement, compiled
as the file's own module, where Coq itself refuses to load a library of that
name, directly or through a file depending on it ("Cannot load a library with
the same name as the current one"); the re-check also refuses a recorded load
naming the target's module before compiling.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from proofsmith.retrieval.corpus import Corpus


@dataclass(frozen=True)
class DecisionProcedure:
    name: str
    tactics: tuple[str, ...]
    modules: tuple[str, ...]  # logical modules to Require
    # from outside the traced library: its imports are not in the trace; the libraries it may rest on
    external_rests_on: tuple[str, ...] | None = None


PROCEDURES: dict[str, DecisionProcedure] = {
    p.name: p for p in (
        DecisionProcedure("lia", ("lia.", "nia."), ("Coq.micromega.Lia",)),
        DecisionProcedure("lra", ("lra.", "nra."), ("Coq.micromega.Lra",)),
        DecisionProcedure("hammer", ("sauto.", "hauto.", "qauto."), ("Hammer.Tactics.Tactics",),
                          external_rests_on=("Coq",)),
    )
}


@dataclass(frozen=True)
class LoadDecision:
    """Whether `procedure` may be loaded before a theorem of `target_file`, what it loads, and why."""

    procedure: str
    target_file: str
    sound: bool
    reason: str
    # what it brings beyond the target file's own imports: files of the trace, and modules from outside it
    loaded: tuple[str, ...] = ()



def leak_check(corpus: Corpus, modules: dict[str, str], target_file: str, procedure: DecisionProcedure) -> LoadDecision:
    """May `procedure` be loaded before a theorem of `target_file` (a corpus file)? `modules` maps each
    corpus file to its logical module (prover.library_order.file_modules)."""
    name = procedure.name
    if target_file not in corpus.files:
        return LoadDecision(name, target_file, False, f"{target_file} is not a file of the trace")
    target_module = modules.get(target_file, "")
    if procedure.external_rests_on is not None:
        rests_on = [lib for lib in procedure.external_rests_on if _in_library(target_module, lib)]
        if rests_on:
            return LoadDecision(name, target_file, False, f"{name} comes from outside the trace and may rest on "
                                f"{rests_on[0]}, the library of {target_file}; its imports there are unknown")
        return LoadDecision(name, target_file, True, f"{name} cannot depend on {target_module or target_file}",
                            procedure.modules)
    file_of = {module: path for path, module in modules.items()}
    loaded: set[str] = set()
    stdlib: list[str] = []  # modules of Coq's own library the trace does not hold
    for module in procedure.modules:
        path = file_of.get(module)
        if path is None:
            if target_module and _in_library(module, COQ_ROOT) and not _in_library(target_module, COQ_ROOT):
                stdlib.append(module)
                continue
            return LoadDecision(name, target_file, False, f"{module}, which {name} needs, is not a file of the trace, "
                                "so what it loads is unknown")
        loaded.add(path)
        loaded.update(corpus.imported_files(path))
    note = f"; {', '.join(stdlib)}: Coq's own library, which cannot load {target_module}" if stdlib else ""
    if target_file in loaded:
        return LoadDecision(name, target_file, False, f"{name} loads {target_file} itself (through "
                            f"{', '.join(procedure.modules)}): its proofs could rest on the theorem's own file "
                            "or a file that depends on it")
    already = set(corpus.imported_files(target_file))
    extra = tuple(sorted(loaded - already))
    return LoadDecision(name, target_file, True, f"{name} loads {len(extra)} file(s) of the trace {target_file} does "
                        f"not import, none of them it or a file depending on it{note}", tuple(sorted(extra + tuple(stdlib))))


COQ_ROOT = "Coq"


def _in_library(module: str, root: str) -> bool:
    return module == root or module.startswith(root + ".")


class UnknownProcedure(ValueError):
    """A decision procedure name that is not in PROCEDURES; the message names it."""


def procedures_named(names: Iterable[str]) -> tuple[DecisionProcedure, ...]:
    """The procedures `names` names (each once, in the order given); UnknownProcedure for a name not in PROCEDURES."""
    chosen: list[DecisionProcedure] = []
    for name in names:
        procedure = PROCEDURES.get(name)
        if procedure is None:
            raise UnknownProcedure(f"unknown decision procedure {name!r}; choose from {', '.join(PROCEDURES)}")
        if procedure not in chosen:
            chosen.append(procedure)
    return tuple(chosen)


@dataclass(frozen=True)
class ProcedureLoading:
    """Every requested procedure's decision for one target: what is loaded before its proof, what refused and why."""

    decisions: tuple[LoadDecision, ...]
    modules: tuple[str, ...]  # the sound procedures' modules, in order: the target's Place.loads

    @property
    def loaded(self) -> tuple[str, ...]:
        return tuple(d.procedure for d in self.decisions if d.sound)

    @property
    def refused(self) -> tuple[LoadDecision, ...]:
        return tuple(d for d in self.decisions if not d.sound)

    def record(self) -> dict[str, Any]:
        """The JSON a result carries (formats.run_records.RunRecord.decision_procedures)."""
        return {"loaded": list(self.loaded), "modules": list(self.modules),
                "refused": {d.procedure: d.reason for d in self.refused},
                # every decision's reason, and how many files beyond the target's imports a sound one brings
                "decisions": {d.procedure: {"sound": d.sound, "reason": d.reason, "brings": len(d.loaded)}
                              for d in self.decisions}}


def decide(corpus: Corpus, modules: dict[str, str], target_file: str,
           procedures: Iterable[DecisionProcedure]) -> ProcedureLoading:
    """`leak_check` of each procedure for a theorem of `target_file`; the sound ones' modules are what to load."""
    decisions: list[LoadDecision] = []
    loads: list[str] = []
    for procedure in procedures:
        decision = leak_check(corpus, modules, target_file, procedure)
        decisions.append(decision)
        if decision.sound:
            loads.extend(m for m in procedure.modules if m not in loads)
    return ProcedureLoading(tuple(decisions), tuple(loads))
