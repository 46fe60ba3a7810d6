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
trace (its imports, hence the question, are unknown). A procedure from
outside the traced library (CoqHammer) is refused for the library it may be
built on (the stdlib), allowed for a library it cannot depend on.

What a sound decision loads is `LoadDecision.loaded` (the procedure's modules
and every library file they bring that the target's file did not import
already); a run that loads them records it beside each result, as its own
row, never as the default of the strict in-file row.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    loaded: tuple[str, ...] = ()  # library files it brings beyond the target file's own imports

    def requires(self, procedure: DecisionProcedure) -> str:
        """The sentence that loads it (for a sound decision)."""
        return " ".join(f"Require Import {m}." for m in procedure.modules)


def leak_check(corpus: Corpus, modules: dict[str, str], target_file: str, procedure: DecisionProcedure) -> LoadDecision:
    """May `procedure` be loaded before a theorem of `target_file` (a corpus file)? `modules` maps each
    corpus file to its logical module (prover.library_order.file_modules)."""
    name = procedure.name
    if target_file not in corpus.files:
        return LoadDecision(name, target_file, False, f"{target_file} is not a file of the trace")
    target_module = modules.get(target_file, "")
    if procedure.external_rests_on is not None:
        rests_on = [lib for lib in procedure.external_rests_on if target_module == lib or target_module.startswith(lib + ".")]
        if rests_on:
            return LoadDecision(name, target_file, False, f"{name} comes from outside the trace and may rest on "
                                f"{rests_on[0]}, the library of {target_file}; its imports there are unknown")
        return LoadDecision(name, target_file, True, f"{name} cannot depend on {target_module or target_file}",
                            procedure.modules)
    file_of = {module: path for path, module in modules.items()}
    loaded: set[str] = set()
    for module in procedure.modules:
        path = file_of.get(module)
        if path is None:
            return LoadDecision(name, target_file, False, f"{module}, which {name} needs, is not a file of the trace, "
                                "so what it loads is unknown")
        loaded.add(path)
        loaded.update(corpus.imported_files(path))
    if target_file in loaded:
        return LoadDecision(name, target_file, False, f"{name} loads {target_file} itself (through "
                            f"{', '.join(procedure.modules)}): its proofs could rest on the theorem's own file "
                            "or a file that depends on it")
    already = set(corpus.imported_files(target_file))
    extra = tuple(sorted(loaded - already))
    return LoadDecision(name, target_file, True, f"{name} loads {len(extra)} file(s) {target_file} does not import, "
                        "none of them it or a file depending on it", extra)
