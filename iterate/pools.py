"""The statements a run proves: library theorems of the trace's train split, or with
`pools.library_split = "val"` of its val split (each in its file context; their human proofs are then
dropped on reading, so no stage can learn from them), mutants of train parents and statements without
proofs; round r proves its slice of each.

`RunInputs` reads the run's inputs once (the trace, the mutant corpus, the
mutation library, its lemma index) and keeps them for the stages.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from proofsmith.checker.types import Source, Theorem
from proofsmith.data_synth import conjecture as cj
from proofsmith.eval.benchmarks.problem import Problem
from proofsmith.formats.json_files import read_jsonl
from proofsmith.iterate.config import IterateConfig
from proofsmith.iterate.records import Conjecture


@dataclass(frozen=True)
class LibraryTheorem:
    """What the stages read of a traced library theorem besides its problem."""

    type: str
    statement: str
    proof: str  # the human proof ("" for a val pool's theorem: never read)
    file_path: str


@dataclass(frozen=True)
class Pools:
    library: list[Problem]
    mutants: list[Problem]
    statements: list[Problem]  # the statement-only pool (no human proof)
    # library theorems of the held-out strategy's test and, unless it is the pool, val (never trained on)
    heldout_names: frozenset[str]
    library_info: dict[str, LibraryTheorem]
    mutant_records: dict[str, Any]  # name -> formats.mutant_record.MutantRecord

    def round_slice(self, r: int, library_per_round: int, mutants_per_round: int, statements_per_round: int = 0
                    ) -> tuple[list[Problem], list[Problem], list[Problem]]:
        """Round r's (r >= 1) fresh library theorems, mutants and statements."""
        return (self.library[(r - 1) * library_per_round: r * library_per_round],
                self.mutants[(r - 1) * mutants_per_round: r * mutants_per_round],
                self.statements[(r - 1) * statements_per_round: r * statements_per_round])


def library_problems(trace: Path, split: str, count: int, seed: int, hide_proofs: bool = False
                     ) -> tuple[list[Problem], dict[str, LibraryTheorem]]:
    """`count` theorems of a traced library's split drawn with `seed`, each in its file context;
    `hide_proofs`: without their human proofs (no reference proof, an empty `LibraryTheorem.proof`).

    Only the drawn ones are placed (placing all 10k random/train theorems takes minutes).
    """
    from proofsmith.checker.coq.file_context import THEOREM_WORDS
    from proofsmith.eval.benchmarks.coq_library import library_problem, traced_libraries
    from proofsmith.formats.leandojo import read_split, split_file

    path = split_file(trace, split, "a trace folder written by `proofsmith trace`")
    libraries, _ = traced_libraries(trace)
    seen: set[str] = set()
    theorems = []
    for t in read_split(path):
        if t.extra.get("kind") in THEOREM_WORDS and t.full_name not in seen and t.traced_tactics:
            seen.add(t.full_name)
            theorems.append(t)
    if count < len(theorems):
        keep = sorted(random.Random(seed).sample(range(len(theorems)), count))
        theorems = [theorems[i] for i in keep]
    problems, info = [], {}
    for t in theorems:
        library = libraries[Path(t.file_path).parts[0]]
        problem = library_problem(t, library, split)
        problems.append(replace(problem, reference_proof=None) if hide_proofs else problem)
        info[t.full_name] = LibraryTheorem(str(t.extra.get("type", "")), str(t.extra.get("statement", "")),
                                           "" if hide_proofs else str(t.extra.get("proof", "")), t.file_path)
    return problems, info


def split_names(trace: Path, split: str) -> set[str]:
    from proofsmith.formats.leandojo import read_split, split_file

    return {t.full_name for t in read_split(split_file(trace, split, "a trace folder"))}


def mutant_problems(path: Path, count: int, exclude_parents: set[str] | frozenset[str], seed: int
                    ) -> tuple[list[Problem], dict[str, Any]]:
    from proofsmith.formats.mutant_record import read_records

    records = [r for _, r in read_records(path) if r.split == "train" and r.parent not in exclude_parents]
    if count < len(records):
        keep = sorted(random.Random(seed).sample(range(len(records)), count))
        records = [records[i] for i in keep]
    problems = [
        Problem(Theorem(r.name, r.statement, r.header, backend="coq", source=Source(*r.source_parts())),
                split="mutants", category=f"mutant-{r.rule}", extra={"parent": r.parent, "premise": r.premise})
        for r in records
    ]
    return problems, {r.name: r for r in records}


def statement_problems(config: IterateConfig, seed: int) -> list[Problem]:
    """`pools.statements` statements of the configured benchmark split, drawn with `seed`, in benchmark order."""
    from proofsmith.eval.benchmarks import load_benchmark

    p = config.pools
    problems = list(load_benchmark(p.statements_benchmark, p.statements_split, p.statements_data or None).problems)
    if p.statements < len(problems):
        keep = sorted(random.Random(seed).sample(range(len(problems)), p.statements))
        problems = [problems[i] for i in keep]
    return [replace(q, split="statements") for q in problems]


def conjecture_problem(conjecture: Conjecture) -> Problem:
    return Problem(Theorem(conjecture.name, conjecture.statement, conjecture.header, backend="coq"),
                   split="conjectures", category=f"conjecture-{conjecture.source}", extra={"seed": conjecture.seed})


class RunInputs:
    """The run's inputs, each read once when a stage first needs it."""

    def __init__(self, config: IterateConfig):
        self.config = config
        self.trace = Path(config.data.trace)
        self.mutants_path = Path(config.data.mutants)
        self.seed = config.run.seed

    @cached_property
    def pools(self) -> Pools:
        p = self.config.pools
        strategy = self.config.strategy
        heldout = split_names(self.trace, f"{strategy}/test")
        if p.library_split != "val":
            heldout |= split_names(self.trace, f"{strategy}/val")
        library, info = library_problems(self.trace, self.config.library_pool_split, p.library, self.seed,
                                         hide_proofs=p.library_split != "train")
        mutants, records = ([], {})
        if p.mutants:
            mutants, records = mutant_problems(self.mutants_path, p.mutants, heldout, self.seed)
        statements = statement_problems(self.config, self.seed) if p.statements else []
        if p.shuffle:
            random.Random(self.seed).shuffle(library)
            random.Random(self.seed + 1).shuffle(mutants)
            random.Random(self.seed + 2).shuffle(statements)
        return Pools(library, mutants, statements, frozenset(heldout), info, records)

    @cached_property
    def library(self):
        from proofsmith.data_synth.mutation_run import MutationLibrary

        return MutationLibrary.load(self.trace)

    @cached_property
    def checker_settings(self):
        """Checker settings for statements outside the library's files (conjectures, mutants): its load path."""
        from proofsmith.checker.settings import CheckerSettings

        return CheckerSettings(workers=1).with_load_path(self.library.load_path)

    @cached_property
    def lemma_index(self) -> cj.LemmaIndex:
        return cj.LemmaIndex.from_corpus(self.library.corpus)

    @cached_property
    def source_keys(self) -> dict[str, str]:
        """Library theorem keys (mutation's source statements log), name -> key."""
        keys = {}
        path = self.mutants_path.with_name(self.mutants_path.name + ".source.jsonl")
        for _, r in read_jsonl(path, missing_ok=True, appended=True):
            if r.get("key"):
                keys[r["name"]] = r["key"]
        return keys

    @cached_property
    def train_proofs(self) -> dict[str, str]:
        """Human proofs of the held-out strategy's train theorems (the parents' proofs in conjecturer prompts);
        never a val pool's."""
        from proofsmith.formats.leandojo import read_split, split_file

        return {t.full_name: str(t.extra.get("proof", ""))
                for t in read_split(split_file(self.trace, f"{self.config.strategy}/train", "a trace folder"))}

    def mutant_records(self) -> list[Any]:
        """Every mutant of the corpus (MutantRecord), none when the config asks for none."""
        from proofsmith.formats.mutant_record import read_records

        if not self.mutants_path.is_file():
            return []
        return [r for _, r in read_records(self.mutants_path)]
