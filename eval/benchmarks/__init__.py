"""The benchmark registry: which benchmarks exist, their splits, and where their data lies.

Bundled data lives in ``eval/data`` with its licence and provenance
(``eval/data/PROVENANCE.md``, which also describes each file's fields);
`--data PATH` points any benchmark at a copy on the user's disk instead
(required for LeanDojo, which is too large to bundle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from proofsmith.eval.benchmarks.coq_library import load_coq_library
from proofsmith.eval.benchmarks.coq_statements import load_coq_statements
from proofsmith.eval.benchmarks.fstar_dataset import SPLITS as FSTAR_DATASET_SPLITS
from proofsmith.eval.benchmarks.fstar_dataset import load_fstar_dataset
from proofsmith.eval.benchmarks.lean_statements import load_lean_statements
from proofsmith.eval.benchmarks.leandojo import load_leandojo
from proofsmith.eval.benchmarks.mutants import load_mutants
from proofsmith.eval.benchmarks.problem import Benchmark, Problem
from proofsmith.formats.json_files import InputFileError
from proofsmith.formats.leandojo import SPLITS as LEANDOJO_SPLITS
from proofsmith.formats.mutant_record import SPLITS as MUTANT_SPLITS

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
# Where the bundled formats are described; error messages point here.
FORMATS_DOC = DATA_DIR / "PROVENANCE.md"

# The public name of malformed benchmark data (every loader raises it, naming file, line and field).
BenchmarkDataError = InputFileError


class BenchmarkSelectionError(ValueError):
    """An unknown benchmark or split, or missing data; the message says what to choose instead."""


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    backend: str
    splits: tuple[str, ...]
    description: str
    # file or directory under eval/data; None when the user must give --data
    bundled: str | None
    data_hint: str
    load: Callable[[Path, str], Benchmark]

    @property
    def default_split(self) -> str:
        return "test" if "test" in self.splits else self.splits[0]


def _coq(name: str, splits: tuple[str, ...]) -> Callable[[Path, str], Benchmark]:
    return lambda path, split: load_coq_statements(path, name, split, splits)


def _lean(name: str, splits: tuple[str, ...]) -> Callable[[Path, str], Benchmark]:
    return lambda path, split: load_lean_statements(path, name, split, splits)


BENCHMARKS: dict[str, BenchmarkSpec] = {
    spec.name: spec
    for spec in [
        BenchmarkSpec(
            "minif2f-coq",
            "coq",
            ("valid", "test"),
            "miniF2F in Coq, 244 valid + 244 test (LLM4Rocq/miniF2F-rocq, MIT)",
            "minif2f_coq.jsonl",
            f"a JSON Lines file in the miniF2F-Coq format (fields: see {FORMATS_DOC})",
            _coq("minif2f-coq", ("valid", "test")),
        ),
        BenchmarkSpec(
            "putnam-coq",
            "coq",
            ("putnam",),
            "PutnamBench's Coq statements, 412 problems (trishullab/PutnamBench, MIT); found proofs must not be published",
            "putnam_coq.jsonl",
            f"a JSON Lines file in the PutnamBench-Coq format (fields: see {FORMATS_DOC})",
            _coq("putnam-coq", ("putnam",)),
        ),
        BenchmarkSpec(
            "minif2f-lean4",
            "lean",
            ("valid", "test"),
            "miniF2F in Lean 4, 244 valid + 244 test (yangky11/miniF2F-lean4, MIT, Lean/Mathlib v4.24.0)",
            "minif2f_lean4.jsonl",
            f"a JSON Lines file in the miniF2F-lean4 format (fields: see {FORMATS_DOC})",
            _lean("minif2f-lean4", ("valid", "test")),
        ),
        BenchmarkSpec(
            "leandojo",
            "lean",
            LEANDOJO_SPLITS,
            "LeanDojo Benchmark 4 (random / novel_premises x train / val / test), from your disk",
            None,
            "a LeanDojo Benchmark 4 directory (metadata.json, corpus.jsonl, random/, novel_premises/)",
            load_leandojo,
        ),
        BenchmarkSpec(
            "coq-mutants",
            "coq",
            MUTANT_SPLITS,
            "mutants of a Coq library made by `proofsmith synth mutate` (train / val / test by parent), from your disk",
            None,
            "a corpus written by `proofsmith synth mutate --out FILE.jsonl`",
            load_mutants,
        ),
        BenchmarkSpec(
            "coq-library",
            "coq",
            LEANDOJO_SPLITS,
            "the theorems of a Coq library traced by `proofsmith trace` (random / novel_premises x train / val / test), "
            "each proved in its own file up to its statement, from your disk",
            None,
            "a trace folder written by `proofsmith trace` (metadata.json, random/, novel_premises/)",
            load_coq_library,
        ),
        BenchmarkSpec(
            "fstar-dataset",
            "fstar",
            FSTAR_DATASET_SPLITS,
            "FStarDataSet (microsoft/FStarDataSet, ICSE 2025): F* definitions to write, checked in their file, from your disk",
            None,
            "an FStarDataSet directory (test_intra_project.json, test_cross_project.json, valid.json, train.json) or one "
            "split file; F* needs the dataset's support files: PROOFSMITH_FSTAR_INCLUDE",
            load_fstar_dataset,
        ),
    ]
}


def get_spec(name: str) -> BenchmarkSpec:
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise BenchmarkSelectionError(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}") from None


def load_benchmark(name: str, split: str | None = None, data: Path | str | None = None) -> Benchmark:
    """Load one split of a benchmark, from `data` when given, else from the bundled copy.

    Raises BenchmarkSelectionError for an unknown name/split or missing data,
    BenchmarkDataError (naming file, line and field) for malformed data.
    """
    spec = get_spec(name)
    split = split or spec.default_split
    if split not in spec.splits:
        raise BenchmarkSelectionError(f"{name} has no split {split!r}; choose one of {', '.join(spec.splits)}")
    if data is not None:
        path = Path(data).expanduser()
        if not path.exists():
            raise BenchmarkSelectionError(f"--data {data}: no such file or directory (expected {spec.data_hint})")
    elif spec.bundled is not None:
        path = DATA_DIR / spec.bundled
    else:
        raise BenchmarkSelectionError(f"{name} is not bundled: give --data PATH, {spec.data_hint}")
    return spec.load(path, split)


__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "BenchmarkDataError",
    "BenchmarkSelectionError",
    "BenchmarkSpec",
    "Problem",
    "get_spec",
    "load_benchmark",
]
