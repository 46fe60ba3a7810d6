"""What `proofsmith recheck PATH` re-checks: the proofs an output of proofsmith holds, with what they were checked under.

PATH is one of
- an eval run folder (run.json and results.jsonl): every proved result;
  statements, headers and places from the benchmark the run names (not from
  the results), the tactic prelude each result records (its `checker`), the
  modules each result's place says were loaded before the proof (`loads`,
  --decision-procedures; eval.recheck judges them itself), the benchmark's
  load path;
- an iterate round (round-R: pool.jsonl, conjecture_results.jsonl,
  kept_conjectures.jsonl): every proof found and every kept conjecture, under
  the prelude recorded with the proof (a round run with the hammer records
  the hammer's); the load path of the trace its manifest.json names;
  mutants from the corpus it names, with their own load path too; library
  theorems in their own file;
- a mutant corpus (`proofsmith synth mutate`'s JSONL): every mutant (or a
  sample), under its recorded prelude and load path; its header declares no
  axiom a proof may use, and its statement must differ from its parent's;
- a `proofsmith check --out` file, with `--input` (the file it judged):
  every line judged proved (check records no prelude: the checker's
  configured one, PROOFSMITH_COQ_PRELUDE or the default, is used).

Anything wrong with PATH is a RecheckInputError naming it; a proof that
cannot be rebuilt is an item carrying why (it fails the re-check).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from proofsmith.eval.recheck import STDLIB, FileProblem, HeaderProblem, RecheckItem
from proofsmith.formats.coq_load_path import LoadPath, LoadPathError
from proofsmith.formats.json_files import InputFileError, get_field, read_json, read_jsonl


class RecheckInputError(ValueError):
    """PATH is not something `proofsmith recheck` can read; the message names it and says why."""


def _records(path: Path, missing_ok: bool = True) -> list[dict[str, Any]]:
    try:
        return [record for _, record in read_jsonl(path, missing_ok=missing_ok, appended=True)]
    except InputFileError as exc:
        raise RecheckInputError(str(exc)) from None


def _recorded_prelude(record: Mapping[str, object], fallback: str | None = None) -> str | None:
    checker = record.get("checker")
    prelude = checker.get("prelude") if isinstance(checker, dict) else None
    return prelude if isinstance(prelude, str) else fallback


def _header_item(kind: str, name: str, proof: str, prelude: str | None, header: str, statement: str,
                 load_path: LoadPath = LoadPath(), header_axioms: bool = True) -> RecheckItem:
    if prelude is None:
        return RecheckItem(kind, name, proof, None, error="no tactic prelude recorded with the proof")
    return RecheckItem(kind, name, proof, HeaderProblem(prelude, header, statement, load_path, header_axioms))


def _recorded_loads(place: Any) -> tuple[str, ...] | None:
    """The modules a result's place says were Required right after the statement (`loads`; () when it
    names none); None when they are not a list of strings."""
    loads = place.get("loads", []) if isinstance(place, dict) else []
    if not isinstance(loads, list) or not all(isinstance(m, str) for m in loads):
        return None
    return tuple(loads)


def _place_item(kind: str, name: str, proof: str, place: Any, load_path: LoadPath = LoadPath()) -> RecheckItem:
    if not (isinstance(place, dict) and isinstance(place.get("project"), str) and isinstance(place.get("file"), str)):
        return RecheckItem(kind, name, proof, None, error=f"its place is not {{project, file, line}}: {place!r:.100}")
    loads = _recorded_loads(place)
    if loads is None:
        return RecheckItem(kind, name, proof, None, error=f"its place's loads are not module names: {place!r:.100}")
    line = place.get("line")
    return RecheckItem(kind, name, proof, FileProblem(place["project"], place["file"], name,
                                                      line if isinstance(line, int) else None, load_path=load_path,
                                                      loads=loads))


# ------------------------------------------------------------------ an eval run


def eval_run_items(run_dir: Path) -> list[RecheckItem]:
    from proofsmith.eval.benchmarks import BenchmarkSelectionError, load_benchmark
    from proofsmith.eval.runner import RESULTS, RUN_CONFIG
    from proofsmith.formats.run_records import ResultsFileError, read_results

    try:
        run = read_json(run_dir / RUN_CONFIG)
    except InputFileError as exc:
        raise RecheckInputError(f"{run_dir / RUN_CONFIG}: not readable as JSON ({exc})") from None
    if not isinstance(run, dict) or not isinstance(run.get("benchmark"), str):
        raise RecheckInputError(f"{run_dir / RUN_CONFIG}: not the run settings proofsmith eval writes (no benchmark)")
    if run.get("backend", "coq") != "coq":
        raise RecheckInputError(f"{run_dir}: a {run['backend']} run; the re-check compiles Coq proofs with coqc")
    try:
        benchmark = load_benchmark(run["benchmark"], run.get("split"), run.get("data"))
        records = read_results(run_dir / RESULTS)
    except (BenchmarkSelectionError, InputFileError, ResultsFileError) as exc:
        raise RecheckInputError(f"{run_dir}: {exc}") from None
    problems = {p.name: p for p in benchmark.problems}
    try:
        load_path = benchmark.load_path.merged(LoadPath.from_json(run.get("load_path", []), where="run.json load_path"))
    except LoadPathError as exc:
        raise RecheckInputError(f"{run_dir / RUN_CONFIG}: {exc}") from None
    items = []
    for record in records:
        if record.get("verdict") != "proved":
            continue
        name, proof = record["name"], record.get("proof")
        kind = "proof"
        problem = problems.get(name)
        if not isinstance(proof, str) or not proof.strip():
            items.append(RecheckItem(kind, name, "", None, error="proved, but no proof recorded"))
        elif problem is None:
            items.append(RecheckItem(kind, name, proof, None,
                                     error=f"not a problem of {benchmark.name} {benchmark.split} (as run.json names it)"))
        elif problem.theorem.place is not None:
            place = problem.theorem.place
            # the place is the benchmark's; what was loaded before the proof is what the result records
            loads = _recorded_loads(record.get("place"))
            if loads is None:
                items.append(RecheckItem(kind, name, proof, None, error="its recorded place's loads are not module "
                                                                        f"names: {record.get('place')!r:.100}"))
                continue
            items.append(RecheckItem(kind, name, proof, FileProblem(place.project, place.file, problem.theorem.name,
                                                                    place.line, problem.theorem.statement, load_path,
                                                                    loads)))
        else:
            # a mutant's header is its library file's imports (as for a corpus): it declares no axiom to use
            items.append(_header_item(kind, name, proof, _recorded_prelude(record, run.get("prelude")),
                                      problem.theorem.header, problem.theorem.statement, load_path,
                                      header_axioms=benchmark.name != "coq-mutants"))
    return items


# ------------------------------------------------------------------ an iterate round


def round_items(round_dir: Path) -> list[RecheckItem]:
    conjectures = {c.get("name"): c for c in _records(round_dir / "conjectures.jsonl")}
    mutants_path, library_load_path = None, LoadPath()
    manifest = round_dir / "manifest.json"
    if manifest.is_file():
        try:
            inputs = json.loads(manifest.read_text(encoding="utf-8")).get("inputs", {})
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
            raise RecheckInputError(f"{manifest}: not readable as a round manifest ({exc})") from None
        mutants_path = (inputs.get("mutants") or {}).get("path")
        library_load_path = _trace_load_path((inputs.get("trace") or {}).get("path"))
    mutants: dict[str, Any] | None = None
    items = []
    preludes: dict[str, str | None] = {}
    for file, kind in (("pool.jsonl", "proof of a dataset statement"), ("conjecture_results.jsonl",
                                                                       "proof of a conjecture")):
        for r in _records(round_dir / file):
            if r.get("verdict") != "proved" or not isinstance(r.get("proof"), str):
                continue
            name, proof, prelude = str(r.get("name")), r["proof"], _recorded_prelude(r)
            preludes[name] = prelude
            if r.get("place"):
                items.append(_place_item(kind, name, proof, r["place"], load_path=library_load_path))
            elif name in conjectures:
                c = conjectures[name]
                items.append(_header_item(kind, name, proof, prelude, str(c.get("header", "")),
                                          str(c.get("statement", "")), library_load_path))
            else:
                if mutants is None:
                    mutants = _round_mutants(round_dir, mutants_path)
                m = mutants.get(name)
                if m is None:
                    items.append(RecheckItem(kind, name, proof, None,
                                             error=f"neither a library theorem, a conjecture nor a mutant of {mutants_path}"))
                else:
                    items.append(_header_item(kind, name, proof, prelude, m.header, m.statement,
                                              library_load_path.merged(m.load_path or LoadPath())))
    for k in _records(round_dir / "kept_conjectures.jsonl"):
        name = str(k.get("name"))
        # kept from this round's conjecture results: the prelude the proof was found under
        items.append(_header_item("kept conjecture", name, str(k.get("proof", "")), preludes.get(name),
                                  str(k.get("header", "")), str(k.get("statement", "")), library_load_path))
    return items


def _trace_load_path(trace: str | None) -> LoadPath:
    """The load path of the traced library a round proves in (its metadata.json): conjectures and mutants use it."""
    if not trace or not (Path(trace) / "metadata.json").is_file():
        return LoadPath()
    path = Path(trace) / "metadata.json"
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
        return LoadPath.from_json(metadata.get("load_path", []) if isinstance(metadata, dict) else [], where=str(path))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, LoadPathError) as exc:
        raise RecheckInputError(f"{path}: not a trace's metadata ({exc})") from None


def _round_mutants(round_dir: Path, path: str | None) -> dict[str, Any]:
    from proofsmith.formats.mutant_record import read_records

    if path is None or not Path(path).is_file():
        raise RecheckInputError(f"{round_dir}: proofs of mutants, but manifest.json names no mutant corpus that exists"
                                f"{f' ({path})' if path else ''}")
    try:
        return {r.name: r for _, r in read_records(Path(path))}
    except InputFileError as exc:
        raise RecheckInputError(str(exc)) from None


# ------------------------------------------------------------------ a mutant corpus


def _statement_body(statement: str) -> str:
    return " ".join(statement.split(":", 1)[-1].strip().rstrip(".").split())


def mutant_items(path: Path, sample: int | None = None, seed: int = 0) -> list[RecheckItem]:
    from proofsmith.formats.mutant_record import read_records

    try:
        records = [r for _, r in read_records(path)]
    except InputFileError as exc:
        raise RecheckInputError(str(exc)) from None
    if sample is not None and sample < len(records):
        records = random.Random(seed).sample(records, sample)
    items = []
    for r in records:
        kind = f"mutant ({r.rule})"
        if _statement_body(r.statement) == _statement_body(r.parent_statement):
            items.append(RecheckItem(kind, r.name, r.proof, None, error="same statement as its parent"))
            continue
        # a mutant's header is its library file's imports: it declares no axiom a proof may lean on
        items.append(_header_item(kind, r.name, r.proof, _recorded_prelude({"checker": r.checker}), r.header,
                                  r.statement, r.load_path or LoadPath(), header_axioms=False))
    return items


# ------------------------------------------------------------------ a `proofsmith check --out` file


def check_output_items(out: Path, checked: Path, project: str | None = None) -> list[RecheckItem]:
    """The lines of `out` judged proved, each with the input line of `checked` it judges (they are in order)."""
    from proofsmith.checker.settings import CheckerSettings

    prelude = CheckerSettings().coq_prelude
    inputs = _records(checked, missing_ok=False)
    judged = _records(out, missing_ok=False)
    if len(judged) > len(inputs):
        raise RecheckInputError(f"{out}: judges {len(judged)} proofs, {checked} holds {len(inputs)}: not its --out")
    items = []
    try:
        for line, (verdict, given) in enumerate(zip(judged, inputs), start=1):
            name = get_field(given, "name", str, checked, line)
            if verdict.get("name") != name:
                raise RecheckInputError(f"{out}:{line}: judges {verdict.get('name')!r}, line {line} of {checked} is "
                                        f"{name!r}: not its --out")
            if verdict.get("verdict") != "proved":
                continue
            proof = get_field(given, "proof", str, checked, line)
            if "file" in given and "statement" not in given:
                if project is None:
                    raise RecheckInputError(f"{checked}:{line}: names a theorem by its file; give --project DIR|stdlib "
                                            "as proofsmith check was given")
                at = get_field(given, "line", int, checked, line, optional=True)
                file = get_field(given, "file", str, checked, line, nonempty=True)
                items.append(RecheckItem("proof", name, proof, FileProblem(project, file, name, at)))
                continue
            load_path = LoadPath()
            if "load_path" in given:
                try:
                    load_path = LoadPath.from_json(given["load_path"], where="")
                except LoadPathError as exc:
                    raise InputFileError(checked, str(exc), line, "load_path") from None
            items.append(_header_item("proof", name, proof, prelude, get_field(given, "header", str, checked, line),
                                      get_field(given, "statement", str, checked, line), load_path))
    except InputFileError as exc:
        raise RecheckInputError(str(exc)) from None
    return items


# ------------------------------------------------------------------ which of them PATH is


def recheck_items(path: Path, *, checked: Path | None = None, project: str | None = None, sample: int | None = None,
                  seed: int = 0) -> tuple[str, list[RecheckItem]]:
    """(what PATH is, its items)."""
    if project is not None and project != STDLIB:  # as `proofsmith check --project` reads it
        given = Path(project).expanduser()
        project = str((given if given.is_dir() else given.parent).resolve())
    if path.is_dir():
        from proofsmith.eval.runner import RESULTS, RUN_CONFIG

        if (path / RUN_CONFIG).is_file() or (path / RESULTS).is_file():
            return "eval run", eval_run_items(path)
        # state.json: a round that has proved nothing yet (round 0 only trains) is a round with no proof
        if any((path / f).is_file() for f in ("pool.jsonl", "conjecture_results.jsonl", "kept_conjectures.jsonl",
                                              "state.json")):
            return "iterate round", round_items(path)
        raise RecheckInputError(f"{path}: a folder, but neither an eval run (run.json, results.jsonl) nor an iterate "
                                "round (state.json, pool.jsonl, conjecture_results.jsonl, kept_conjectures.jsonl)")
    if not path.is_file():
        raise RecheckInputError(f"{path}: no such file or folder")
    first = next(iter(_records(path, missing_ok=False)), None)
    if first is None:
        raise RecheckInputError(f"{path}: holds no records")
    if "parent_statement" in first and "rule" in first:
        return "mutant corpus", mutant_items(path, sample, seed)
    if "verdict" in first and "proof" not in first:
        if checked is None:
            raise RecheckInputError(f"{path}: a proofsmith check output; give --input, the file it judged")
        return "check output", check_output_items(path, checked, project)
    raise RecheckInputError(f"{path}: not an eval run folder, an iterate round, a mutant corpus or a proofsmith check "
                            "--out file (its first record has neither parent_statement and rule, nor a verdict)")
