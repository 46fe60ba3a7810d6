"""Loader for a traced Coq library: the theorems of one split, each to be proved where it stands.

The data is a trace folder written by `proofsmith trace` (a LeanDojo
Benchmark 4 directory; split files read by `retrieval.benchmark`). A problem
is a traced theorem stated with a theorem keyword (`Theorem`, `Lemma`, ...,
`file_context.THEOREM_WORDS`); the split's other traced proofs (`Instance`,
`Definition`, `Let`, `Fixpoint`, `Add ...`) are counted and named in the
benchmark's notes, not dropped silently. Each problem is a theorem in context
(`checker.coq.file_context.theorem_in_context`): its project is `stdlib`, or
the folder of the `_CoqProject` that holds a user library (metadata.json's
`libraries`), its file is the traced file, its line the statement's. The
problem keeps the traced name (what Coq itself called the constant) and the
human proof (`reference_proof`, for `--prover reference`). A theorem that
cannot be placed is still a problem, carrying the reason: the checker cannot
open it, so it is reported unusable with that reason.

`with_decision_procedures` (`proofsmith eval --decision-procedures lia,lra`)
decides per problem, on the trace's own import graph (corpus.jsonl), which
decision procedures may be loaded before its proof without a leak
(prover.decision_procedures.leak_check), and puts the sound ones' modules in
its place's `loads`, which the checker Requires right after the statement;
the decisions, refusals with their reasons included, go with each result.

Problems are in split-file order, so `--limit N --seed S` draws the same
sample from the same trace every time (eval.runner.select_problems).
Categories are library areas: the folder under the library root
(`theories/Arith/PeanoNat.v` -> Arith), or the file for a file at the top.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from proofsmith.checker.coq.file_context import STDLIB, THEOREM_WORDS, ContextError, theorem_in_context
from proofsmith.checker.types import Place, Source, Theorem
from proofsmith.eval.benchmarks.problem import Benchmark, Problem, library_area
from proofsmith.formats.coq_load_path import LoadPath, LoadPathError, find_project
from proofsmith.formats.json_files import InputFileError, get_field, read_json
from proofsmith.formats.leandojo import TracedTheorem, read_split, split_file

if TYPE_CHECKING:
    from proofsmith.prover.decision_procedures import DecisionProcedure

NAME = "coq-library"


@dataclass(frozen=True)
class TracedLibrary:
    """A traced library as metadata.json records it, and the project its theorems are opened in."""

    name: str
    folder: str  # the first part of its files' corpus paths (stdlib: theories)
    url: str
    commit: str
    project: str | None  # stdlib, or the folder holding its _CoqProject; None: it has none
    inside: Path | None  # the library root relative to the project folder

    def place(self, file_path: str, line: int) -> Place:
        if self.name == STDLIB:
            return Place(STDLIB, file_path, line)
        assert self.project is not None and self.inside is not None
        rel = Path(file_path).relative_to(self.folder)
        return Place(self.project, str(self.inside / rel), line)


def traced_libraries(root: Path) -> tuple[dict[str, TracedLibrary], LoadPath]:
    """The libraries a trace folder's metadata.json lists, by their folder (a corpus path's first part), and its load path."""
    path = root / "metadata.json"
    metadata = read_json(path)
    if not isinstance(metadata, dict):
        raise InputFileError(path, "expected a JSON object")
    if "libraries" not in metadata:
        raise InputFileError(path, "not a Coq trace (no 'libraries'): coq-library reads what `proofsmith trace` writes; "
                                   "a Lean LeanDojo Benchmark is --benchmark leandojo", field="libraries")
    entries = get_field(metadata, "libraries", list, path, None)
    try:
        load_path = LoadPath.from_json(metadata.get("load_path", []), where="")
    except LoadPathError as exc:
        raise InputFileError(path, str(exc), field="load_path") from None
    libraries: dict[str, TracedLibrary] = {}
    for i, entry in enumerate(entries):
        where = f"libraries[{i}]"
        if not isinstance(entry, dict):
            raise InputFileError(path, "expected an object", field=where)
        name, lib_root = (get_field(entry, key, str, path, None, nonempty=True, where=where) for key in ("name", "root"))
        url, commit = (get_field(entry, key, str, path, None, optional=True, where=where) or "" for key in ("url", "commit"))
        folder = Path(lib_root).name
        if name == STDLIB:
            libraries[folder] = TracedLibrary(name, folder, url, commit, STDLIB, None)
            continue
        found = find_project(lib_root) if Path(lib_root).is_dir() else None
        project = found.parent if found is not None else None
        libraries[folder] = TracedLibrary(
            name, folder, url or lib_root, commit,
            str(project) if project is not None else None,
            Path(lib_root).resolve().relative_to(project) if project is not None else None,
        )
    return libraries, load_path


def library_problem(theorem: TracedTheorem, library: TracedLibrary, split: str) -> Problem:
    """A traced theorem as a problem in its own file's context (or, if it cannot be placed, one carrying why)."""
    place = library.place(theorem.file_path, theorem.start[0])
    note = None
    try:
        in_context = theorem_in_context(place.project, place.file, theorem.full_name, place.line)
        # the traced name is the one Coq gave the constant (About); the place and statement are the file's
        in_context = replace(in_context, name=theorem.full_name)
    except ContextError as exc:
        note = f"cannot be placed in its file: {exc}"
        in_context = Theorem(theorem.full_name, str(theorem.extra.get("statement", "")), place=place)
    source = Source(library.url, library.commit, theorem.file_path)
    return Problem(
        theorem=replace(in_context, source=source),
        split=split,
        category=library_area(theorem.file_path),
        dataset_note=note,
        reference_proof=theorem.extra.get("proof") if isinstance(theorem.extra.get("proof"), str) else None,
        extra={"start": list(theorem.start), "end": list(theorem.end), "kind": theorem.extra.get("kind")},
    )


def load_coq_library(root: Path, split: str) -> Benchmark:
    split_path = split_file(root, split, "a trace folder written by `proofsmith trace` (metadata.json, random/, novel_premises/)")
    libraries, load_path = traced_libraries(root)
    problems: list[Problem] = []
    left_out: Counter[str] = Counter()
    seen: set[str] = set()
    used: dict[str, TracedLibrary] = {}
    traced = read_split(split_path)
    for i, theorem in enumerate(traced):
        kind = theorem.extra.get("kind")
        if kind not in THEOREM_WORDS:
            left_out[str(kind)] += 1
            continue
        if theorem.full_name in seen:
            left_out["the same name as an earlier theorem"] += 1
            continue
        library = libraries.get(Path(theorem.file_path).parts[0])
        if library is None:
            raise InputFileError(split_path, f"{theorem.file_path} is in none of the libraries metadata.json lists "
                                             f"({', '.join(sorted(libraries))})", None, f"[{i}].file_path")
        if library.project is None:
            raise InputFileError(
                root / "metadata.json",
                f"library {library.name} has no _CoqProject in its folder or above, so its theorems cannot be opened "
                f"in their files; write one binding it (e.g. `-R . {library.name}` in its root folder) and rerun",
            )
        seen.add(theorem.full_name)
        used[library.name] = library
        problems.append(library_problem(theorem, library, split))
    if not problems:
        raise InputFileError(split_path, "no theorems stated with a theorem keyword in this split")
    notes = [
        f"{len(traced)} traced proofs in {split}; the {len(problems)} stated with a theorem keyword "
        f"({', '.join(sorted(THEOREM_WORDS))}) are the problems, each opened in its own file up to its statement"
    ]
    if left_out:
        notes.append(f"{sum(left_out.values())} left out: " + ", ".join(f"{k} {n}" for k, n in left_out.most_common()))
    unplaced = sum(p.dataset_note is not None for p in problems)
    if unplaced:
        notes.append(f"{unplaced} could not be placed in their files (reported unusable, with the reason)")
    if len(used) == 1:
        (library,) = used.values()
        repo, commit = library.url, library.commit
    else:
        repo, commit = "(several libraries)", "; ".join(f"{lib.name} {lib.commit}" for lib in used.values())
    return Benchmark(NAME, split, "coq", repo, commit, str(root), tuple(problems), load_path,
                     category_label="library area", notes=tuple(notes))


def with_decision_procedures(root: Path, problems: list[Problem], procedures: tuple[DecisionProcedure, ...]
                             ) -> list[Problem]:
    """The problems of the trace at `root`, each with its leak-check decisions for `procedures` and the sound
    ones' modules as its place's loads (a problem that cannot be placed is left as it is: it is unusable)."""
    if not procedures:
        return problems
    from proofsmith.prover.decision_procedures import decide
    from proofsmith.prover.library_order import file_modules
    from proofsmith.retrieval.corpus import Corpus, CorpusError

    try:
        corpus = Corpus.load(root / "corpus.jsonl")
    except CorpusError as exc:
        raise InputFileError(root / "corpus.jsonl", "--decision-procedures: the leak check reads the trace's import "
                             f"graph, and this corpus cannot be read ({exc})") from None
    modules = file_modules(root, corpus.files)
    decided = []
    for problem in problems:
        theorem = problem.theorem
        if theorem.place is None or theorem.source is None or problem.dataset_note is not None:
            decided.append(problem)
            continue
        loading = decide(corpus, modules, theorem.source.path, procedures)
        place = replace(theorem.place, loads=loading.modules)
        decided.append(replace(problem, theorem=replace(theorem, place=place), decision_procedures=loading))
    return decided
