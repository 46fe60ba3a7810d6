"""The resumable runner: prove a list of problems into a results file, one JSON line each.

`prove_problems` is the one proving loop (an eval run and every proving stage
of `proofsmith iterate` call it). A worker (eval.evaluator.ProblemEvaluator)
owns one checker (a pool of one session, so the header stays loaded between
the usability check, the prover and the re-check) and one prover. Locally N
workers run in threads (checker.parallel; the work happens in the
proof-assistant processes); with Ray each worker is an actor
(eval.ray_cluster). Both paths call the same `ProblemEvaluator.evaluate`, and
only the driver writes results, so the results file has exactly one line per
finished theorem whichever path ran.

`run_eval` is a benchmark run on top of it: the options validated, the
problems selected, the run's identity stored (a resume with other options is
refused), the summary and reports written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import sys
import time
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proofsmith.checker.parallel import parallel_map
from proofsmith.checker.settings import CheckerSettings
from proofsmith.eval.benchmarks import Benchmark, Problem, load_benchmark
from proofsmith.eval.benchmarks.system_packages import missing_packages
from proofsmith.eval.evaluator import EvaluatorSpec, ProblemEvaluator
from proofsmith.eval.ray_cluster import ray_map
from proofsmith.formats.coq_load_path import LoadPath
from proofsmith.formats.run_records import ResultsFile, ResultsFileError, RunContext, RunRecord
from proofsmith.prover.base import Budget

if TYPE_CHECKING:
    from proofsmith.prover.decision_procedures import DecisionProcedure

log = logging.getLogger(__name__)

RESULTS = "results.jsonl"
RUN_CONFIG = "run.json"


class RunConfigError(ValueError):
    """Bad run options, or options that differ from those the run directory was started with."""


@dataclass(frozen=True)
class RunConfig:
    benchmark: str
    split: str | None = None
    data: str | None = None
    # checker backend; None: the benchmark's own (kimina may stand in for lean)
    backend: str | None = None
    prover: str = "portfolio"
    prover_options: tuple[tuple[str, Any], ...] = ()
    budget_s: float = 60.0
    attempts: int = 1
    tactic_timeout_s: float = 10.0
    seed: int = 0
    limit: int | None = None
    problems: tuple[str, ...] | None = None
    workers: int = 1
    # None: run locally; "" : start a local Ray instance; else a Ray address.
    ray: str | None = None
    # Coq load path (-Q/-R/--project), on top of the one the benchmark records (mutants carry theirs)
    load_path: LoadPath = LoadPath()
    # coq-library: decision procedures (prover.decision_procedures.PROCEDURES) loaded before each proof
    # where the leak check finds it sound; () is the strict in-file row
    decision_procedures: tuple[str, ...] = ()

    def budget(self) -> Budget:
        return Budget(
            wall_s=self.budget_s, attempts=self.attempts, tactic_timeout_s=self.tactic_timeout_s, seed=self.seed
        )


@dataclass
class RunOutcome:
    out_dir: Path
    records: list[RunRecord]
    newly_finished: int
    selected: int
    summary: dict[str, Any] = field(default_factory=dict)


def select_problems(benchmark: Benchmark, limit: int | None, names: Iterable[str] | None, seed: int) -> list[Problem]:
    """The problems a run covers, in benchmark order.

    `names` picks problems by name; `limit` then draws that many at random
    with `seed` (the same draw for the same seed, so a resumed run sees the
    same subset).
    """
    problems = list(benchmark.problems)
    if names:
        by_name = {p.name: p for p in problems}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise RunConfigError(
                f"--problems: {', '.join(unknown[:5])} not in {benchmark.name} {benchmark.split}"
                + (f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else "")
            )
        wanted = set(names)
        problems = [p for p in problems if p.name in wanted]
    if limit is not None:
        if limit < 1:
            raise RunConfigError(f"--limit must be at least 1, got {limit}")
        if limit < len(problems):
            keep = sorted(random.Random(seed).sample(range(len(problems)), limit))
            problems = [problems[i] for i in keep]
    return problems


def _identity(config: RunConfig, benchmark: Benchmark, selected: list[Problem], settings: CheckerSettings) -> dict[str, Any]:
    """What must not change when a run is resumed (workers and Ray may)."""
    backend = _choose_backend(config.backend, benchmark)
    return {
        "benchmark": benchmark.name,
        "backend": backend,
        "split": benchmark.split,
        # None for the bundled copy, so a run resumes from any clone; the hash catches changed data
        "data": config.data,
        "data_sha256": _fingerprint(benchmark),
        "source_repo": benchmark.source_repo,
        "source_commit": benchmark.source_commit,
        "prover": config.prover,
        "prover_options": {k: v for k, v in config.prover_options},
        "budget_s": config.budget_s,
        "attempts": config.attempts,
        "tactic_timeout_s": config.tactic_timeout_s,
        "seed": config.seed,
        "prelude": settings.coq_prelude if backend == "coq" else "",
        "problems": [p.name for p in selected],
        # only when asked for, so a strict run started before the option existed still resumes
        **({"decision_procedures": list(config.decision_procedures)} if config.decision_procedures else {}),
    }


def _fingerprint(benchmark: Benchmark) -> str:
    """SHA-256 of the file the problems came from (for a directory, of the split's file)."""
    path = Path(benchmark.data_path)
    if path.is_dir():
        path = path / f"{benchmark.split}.json"
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# run.json keys written only when the option is given (so a run started before the option existed resumes)
OPTIONAL_IDENTITY = ("decision_procedures",)


def _check_resume(out_dir: Path, identity: dict[str, Any]) -> None:
    path = out_dir / RUN_CONFIG
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(identity, indent=1) + "\n")
        tmp.replace(path)
        return
    try:
        previous = json.loads(path.read_text())
    except json.JSONDecodeError:
        raise RunConfigError(f"{path}: not valid JSON; remove the run directory or fix the file") from None
    # keys a run records only when set: a run started with one must not resume without it
    differing = [k for k in identity if previous.get(k) != identity[k]] + [
        k for k in OPTIONAL_IDENTITY if k in previous and k not in identity]
    if differing == ["problems"] and set(previous.get("problems") or ()) < set(identity["problems"]):
        # a larger --limit of the same seed: its sample holds the smaller one (the run grows)
        print(f"{out_dir}: growing the run from {len(previous['problems'])} to {len(identity['problems'])} "
              "problems; the finished ones are kept", file=sys.stderr)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(identity, indent=1) + "\n")
        tmp.replace(path)
        return
    if differing:
        def show(key: str, v: Any) -> str:
            return f"{len(v)} problems" if key == "problems" and isinstance(v, list) else repr(v)

        details = "; ".join(f"{k}: {show(k, previous.get(k))} then, {show(k, identity.get(k))} now" for k in differing)
        raise RunConfigError(
            f"{out_dir} was started with other options ({details}); rerun with the same options to resume, or use a new --out"
        )


# Checker backends that can judge a benchmark written for a given proof assistant.
COMPATIBLE_BACKENDS = {"coq": ("coq",), "lean": ("lean", "kimina")}


def _choose_backend(requested: str | None, benchmark: Benchmark) -> str:
    allowed = COMPATIBLE_BACKENDS.get(benchmark.backend, (benchmark.backend,))
    backend = requested or benchmark.backend
    if backend not in allowed:
        raise RunConfigError(f"--backend {backend} cannot check {benchmark.name} ({benchmark.backend}); use {' or '.join(allowed)}")
    return backend


def _require_backend(backend: str, benchmark: str) -> None:
    from proofsmith.checker.registry import BACKENDS

    if backend not in BACKENDS:
        raise RunConfigError(
            f"--benchmark {benchmark} needs the {backend} backend, which this installation does not have yet "
            f"(available: {', '.join(sorted(BACKENDS))})"
        )


def _warn_missing_packages(problems: list[Problem]) -> None:
    needing = [p for p in problems if missing_packages(p.requires)]
    if needing:
        packages = missing_packages(sorted({r for p in needing for r in p.requires}))
        log.warning(
            "%d of %d problems need Debian packages that are not installed (%s); they will be reported unusable. "
            "To use them: sudo apt-get install %s",
            len(needing), len(problems), ", ".join(packages), " ".join(packages),
        )


def evaluation_stream(spec: EvaluatorSpec, problems: Sequence[Problem], workers: int,
                      ray: str | None = None) -> Generator[RunRecord, None, None]:
    """Every problem's record, as workers finish them: `workers` threads here, or Ray actors with `ray`.

    Locally each worker is a `ProblemEvaluator` in a thread (the work happens in
    the proof-assistant processes); with Ray ("" a local instance, else an
    address) each is an actor. Closing the stream stops the workers: a running
    problem stops at its next session lease, not at the end of its budget.
    """
    if ray is not None:
        return ray_map(ProblemEvaluator, (spec,), lambda actor, p: actor.evaluate.remote(p), problems, workers, ray)
    return parallel_map(ProblemEvaluator.evaluate, list(problems), workers, open_state=lambda: ProblemEvaluator(spec),
                        close_state=ProblemEvaluator.close, cancel_running=True, name="eval-worker")


@dataclass
class ProvingOutcome:
    records: list[RunRecord]  # every record of the results file, in file order
    newly_finished: int

    def by_problem(self, problems: Sequence[Problem]) -> list[RunRecord]:
        """The records of `problems` that are finished, in their order."""
        by_name = {r["name"]: r for r in self.records}
        return [by_name[p.name] for p in problems if p.name in by_name]


def prove_problems(problems: Sequence[Problem], spec: EvaluatorSpec, results_path: Path, workers: int = 1,
                   ray: str | None = None, progress: str | None = None) -> ProvingOutcome:
    """Prove every problem not yet in `results_path` into it, one JSON line each (formats.run_records); resumable.

    The one proving loop of the platform (eval runs, iterate rounds). Only this
    driver writes the file, so it holds exactly one line per finished problem
    whichever way the workers ran; a killed run resumes with what is missing.
    `progress` is the bar's label (None: no bar). Raises ResultsFileError for a
    file in use, corrupt, or holding problems outside `problems`.
    """
    results_path.parent.mkdir(parents=True, exist_ok=True)
    with ResultsFile(results_path) as results:
        records = results.open()
        wanted = {p.name for p in problems}
        strangers = [r["name"] for r in records if r["name"] not in wanted]
        if strangers:
            raise ResultsFileError(f"{results_path} holds results for problems outside this run: {', '.join(strangers[:5])}")
        done = {r["name"] for r in records}
        pending = [p for p in problems if p.name not in done]
        new = 0
        if pending:
            _warn_missing_packages(pending)
            stream = evaluation_stream(spec, pending, workers, ray)
            bar = _progress_bar(progress, len(problems), len(done), records)
            try:
                for record in stream:
                    record["finished_at"] = round(time.time(), 3)
                    results.append(record)
                    records.append(record)
                    new += 1
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix_str(_progress_note(records))
            finally:
                stream.close()
                if bar is not None:
                    bar.close()
    return ProvingOutcome(records, new)


def run_eval(config: RunConfig, out_dir: Path | str, progress: bool = True) -> RunOutcome:
    """Run (or resume) an evaluation into `out_dir`; returns every record and the summary.

    Raises BenchmarkSelectionError / BenchmarkDataError for bad benchmark input,
    ProverOptionError for an unknown prover or option, RunConfigError for bad
    options or a run directory started with other options, ResultsFileError
    for a results file in use or corrupt. Nothing is written before the
    options, the benchmark and the selection are known to be good.
    """
    from proofsmith.eval.report import summarize, write_reports
    from proofsmith.prover.registry import check_prover, replays_reference

    # A refused run must leave no run.json behind, which would then refuse the
    # corrected command: validate everything first.
    out_dir = Path(out_dir)
    check_prover(config.prover, dict(config.prover_options))
    if config.attempts < 1:
        raise RunConfigError(f"--attempts must be at least 1, got {config.attempts}")
    if config.budget_s <= 0:
        raise RunConfigError(f"--budget-s must be positive, got {config.budget_s}")
    if config.tactic_timeout_s <= 0:
        raise RunConfigError(f"--tactic-timeout-s must be positive, got {config.tactic_timeout_s}")
    if config.workers < 1:
        raise RunConfigError(f"--workers must be at least 1, got {config.workers}")
    procedures = _decision_procedures(config)
    benchmark = load_benchmark(config.benchmark, config.split, config.data)
    from proofsmith.prover.registry import benchmark_defaults

    # what the prover takes from the benchmark (memory-search on coq-library: that trace's train part)
    config = replace(config, prover_options=tuple(sorted(benchmark_defaults(
        config.prover, dict(config.prover_options), benchmark.name, benchmark.data_path, benchmark.split).items())))
    selected = select_problems(benchmark, config.limit, config.problems, config.seed)
    if procedures:  # each problem's leak-check decisions; the sound procedures are loaded before its proof
        from proofsmith.eval.benchmarks.coq_library import with_decision_procedures

        selected = with_decision_procedures(Path(benchmark.data_path), selected, procedures)
    if replays_reference(config.prover) and not any(p.reference_proof for p in selected):
        raise RunConfigError(f"--prover {config.prover} replays the benchmark's own proofs, and {benchmark.name} "
                             f"{benchmark.split} has none (coq-library has them)")
    from proofsmith.prover.registry import checker_settings, run_record

    settings = checker_settings(config.prover, dict(config.prover_options), CheckerSettings())
    identity = _identity(config, benchmark, selected, settings)
    # what the prover's options added (a mutant corpus in the tactic memory: what was added, what left out)
    identity.update(run_record(config.prover, dict(config.prover_options)))
    _require_backend(identity["backend"], benchmark.name)
    budget = config.budget()
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_resume(out_dir, identity)

    context: RunContext = {
        "benchmark": benchmark.name,
        "benchmark_source": {"repo": benchmark.source_repo, "commit": benchmark.source_commit},
        "budget": {"wall_s": budget.wall_s, "attempts": budget.attempts, "tactic_timeout_s": budget.tactic_timeout_s},
        "seed": config.seed,
    }
    spec = EvaluatorSpec(identity["backend"], config.prover, dict(config.prover_options), budget, context,
                         benchmark.load_path.merged(config.load_path))
    label = f"{benchmark.name} {benchmark.split}" if progress else None
    proving = prove_problems(selected, spec, out_dir / RESULTS, config.workers, config.ray, label)
    records, new = proving.records, proving.newly_finished

    summary = summarize(records, identity, selected, category_label=benchmark.category_label, notes=benchmark.notes)
    write_reports(out_dir, summary, records)
    return RunOutcome(out_dir, records, new, len(selected), summary)


def _decision_procedures(config: RunConfig) -> tuple[DecisionProcedure, ...]:
    """The procedures --decision-procedures names (prover.decision_procedures); RunConfigError for an unknown
    one, for a benchmark other than coq-library, or for CoqHammer where it is not installed."""
    if not config.decision_procedures:
        return ()
    from proofsmith.eval.benchmarks.coq_library import NAME as COQ_LIBRARY
    from proofsmith.prover.decision_procedures import UnknownProcedure, procedures_named

    try:
        procedures = procedures_named(config.decision_procedures)
    except UnknownProcedure as exc:
        raise RunConfigError(f"--decision-procedures: {exc}") from None
    if config.benchmark != COQ_LIBRARY:
        raise RunConfigError(f"--decision-procedures loads procedures before a library theorem proved in its own "
                             f"file (--benchmark {COQ_LIBRARY}); {config.benchmark}'s statements come with their "
                             "own header")
    if any(p.external_rests_on is not None for p in procedures):
        from proofsmith.checker.coq.hammer import missing_reason

        reason = missing_reason()
        if reason is not None:
            raise RunConfigError(f"--decision-procedures hammer: {reason}")
    return procedures


def _progress_note(records: list[RunRecord]) -> str:
    proved = sum(r["verdict"] == "proved" for r in records)
    usable = sum(bool(r.get("usable")) for r in records)
    return f"proved {proved}/{usable}"


def _progress_bar(desc: str | None, total: int, initial: int, records: list[RunRecord]):
    if desc is None:
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, initial=initial, desc=desc, unit="thm", dynamic_ncols=True)
    bar.set_postfix_str(_progress_note(records))
    return bar
