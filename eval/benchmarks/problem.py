"""What a benchmark is made of: problems (a theorem plus its split and provenance)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proofsmith.checker.types import Theorem
from proofsmith.formats.coq_load_path import LoadPath

if TYPE_CHECKING:
    from proofsmith.prover.decision_procedures import ProcedureLoading


@dataclass(frozen=True)
class Problem:
    """One statement to prove.

    `category` is the problem's source family (mathd, amc, aime, imo, putnam,
    a Mathlib top-level folder, ...): reports break pass rates down by it.
    `requires` names the system packages (Debian) the header needs.
    `dataset_note` is what the dataset itself says about the statement, e.g.
    that it did not compile when the dataset was built, and why; the runner
    still asks the installed checker, which is the only judge of usability.
    `reference_proof` is the benchmark's own (human) proof where it has one
    (coq-library: the traced proof); `--prover reference` replays it.
    `decision_procedures` is what a run chose to load before the proof
    (eval.benchmarks.coq_library.with_decision_procedures), recorded with its result.
    """

    theorem: Theorem
    split: str
    category: str
    requires: tuple[str, ...] = ()
    dataset_note: str | None = None
    reference_proof: str | None = None
    # coq-library with --decision-procedures: each procedure's leak-check decision for this theorem
    # (the sound ones' modules are its place's loads); None: the strict in-file context
    decision_procedures: ProcedureLoading | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def name(self) -> str:
        return self.theorem.name


@dataclass(frozen=True)
class Benchmark:
    """The problems of one split of one benchmark, with where they came from."""

    name: str
    split: str
    backend: str
    source_repo: str
    source_commit: str
    data_path: str
    problems: tuple[Problem, ...]
    load_path: LoadPath = LoadPath()  # what Coq needs for the headers (a mutant corpus records it)
    category_label: str = "problem source"  # what `Problem.category` means, as reports title it
    notes: tuple[str, ...] = ()  # what the loader left out of the data, and why: reports repeat it

    def provenance(self) -> dict[str, str]:
        return {
            "benchmark": self.name,
            "split": self.split,
            "source_repo": self.source_repo,
            "source_commit": self.source_commit,
            "data": self.data_path,
        }


_FAMILIES = ("mathd", "amc", "aime", "imo", "putnam", "algebra", "numbertheory", "induction")


def competition_family(name: str) -> str:
    """The family of a competition-style problem name (miniF2F, PutnamBench).

    ``amc12a_2019_p21`` -> amc, ``aimeII_2020_p6`` -> aime, ``imosl_2007_algebra_p6``
    -> imo, ``mathd_algebra_48`` -> mathd; anything else -> other.
    """
    lowered = name.lower()
    for family in _FAMILIES:
        if lowered.startswith(family):
            return family
    return "other"


def library_area(file_path: str) -> str:
    """The area of a library file, for pass rates by area: the folder under the library root
    (theories/Arith/PeanoNat.v -> Arith, Mathlib/Algebra/Group/Defs.lean -> Algebra), or the
    file for a file at the top (tracelib/Base.v -> Base)."""
    parts = Path(file_path).with_suffix("").parts
    return parts[1] if len(parts) > 2 else parts[-1] if parts else "other"
