"""The resumable evaluation runner: prove every problem of a benchmark split, one JSON line each.

A worker owns one checker (a pool of one session, so the header stays loaded
between the usability check, the prover and the re-check) and one prover.
Locally N workers run in threads (checker.parallel; the work happens in the
proof-assistant processes); with Ray each worker is an actor. Both paths call the same
`ProblemEvaluator.evaluate`, and only the driver writes results, so the
results file has exactly one line per finished theorem whichever path ran.

For every problem the worker first asks the installed checker whether the
statement compiles (if not, the problem is unusable: recorded with the error,
counted and listed, never dropped), then runs the prover, then re-checks any
proof the prover calls proved through the checker's soundness guard; only
that re-check can make the recorded verdict "proved".
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Iterator

from proofsmith.checker.coq.load_path import LoadPath
from proofsmith.checker.parallel import parallel_map
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import CheckerInfo, Verdict
from proofsmith.eval.benchmarks import Benchmark, Problem, load_benchmark
from proofsmith.eval.benchmarks.system_packages import missing_packages
from proofsmith.eval.results import ResultsFile
from proofsmith.prover.base import Budget

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

    def budget(self) -> Budget:
        return Budget(
            wall_s=self.budget_s, attempts=self.attempts, tactic_timeout_s=self.tactic_timeout_s, seed=self.seed
        )


@dataclass
class RunOutcome:
    out_dir: Path
    records: list[dict[str, Any]]
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
    differing = [k for k in identity if previous.get(k) != identity[k]]
    if differing:
        def show(v: Any) -> str:
            return f"{len(v)} problems" if isinstance(v, list) else repr(v)

        details = "; ".join(f"{k}: {show(previous.get(k))} then, {show(identity[k])} now" for k in differing)
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


class ProblemEvaluator:
    """One worker: a checker with one session, and a prover. Also the body of a Ray actor."""

    def __init__(self, backend: str, prover: str, prover_options: dict[str, Any], budget: Budget, context: dict[str, Any],
                 load_path: LoadPath = LoadPath()):
        from proofsmith.checker.registry import open_checker
        from proofsmith.prover.registry import make_prover

        from proofsmith.prover.registry import checker_settings

        self.settings = checker_settings(prover, prover_options, CheckerSettings(workers=1).with_load_path(load_path))
        self.prover = make_prover(prover, **prover_options)
        self.checker = open_checker(backend, self.settings)
        self.budget = budget
        self.context = context

    def _statement_error(self, problem: Problem) -> str | None:
        try:
            with self.checker.session() as session:
                session.open(problem.theorem, timeout_s=self.settings.timeout_s)
        except ValueError as exc:
            return str(exc)
        except Exception as exc:  # a crash or hang while opening: unusable, with the reason
            return f"could not open the statement: {type(exc).__name__}: {exc}"
        return None

    def evaluate(self, problem: Problem) -> dict[str, Any]:
        record = {
            "name": problem.name,
            "split": problem.split,
            "category": problem.category,
            **({"place": asdict(problem.theorem.place)} if problem.theorem.place else {}),
            **self.context,
            "prover": self.prover.name,
            "model": self.prover.model,
        }
        error = self._statement_error(problem)
        if error is not None:
            if problem.dataset_note:
                error += f" [dataset note: {problem.dataset_note}]"
            missing = missing_packages(problem.requires)
            if missing:
                error += f" [needs Debian packages not installed here: {' '.join(missing)}]"
            return record | _verdict_fields(Verdict.ERROR, error, None, usable=False) | self._checker_field(None)
        reference = {"reference": problem.reference_proof} if self.prover.replays_reference else {}
        try:
            result = self.prover.prove(problem.theorem, self.checker, self.budget, **reference)
        except Exception as exc:
            failure = _verdict_fields(Verdict.ERROR, f"prover failure: {type(exc).__name__}: {exc}", None)
            return record | failure | self._checker_field(None)
        verdict, reason, axioms = result.verdict, result.reason, ()
        checker_info = result.check.checker if result.check else None
        if result.proved:
            recheck = self.checker.check(problem.theorem, result.proof or "", timeout_s=self.settings.timeout_s)
            checker_info = recheck.checker
            axioms = recheck.axioms
            if not recheck.proved:
                verdict = recheck.verdict
                reason = f"the soundness guard rejected the prover's proof: {recheck.verdict.value}: {recheck.reason}"
        record |= _verdict_fields(verdict, reason, result.proof, axioms=axioms)
        record.update(
            {
                "time_s": round(result.time_s, 3),
                "attempts": len(result.attempts),
                "successes": result.successes if verdict is Verdict.PROVED else 0,
                "attempt_verdicts": [a.verdict.value for a in result.attempts],
                "timings": {k: round(v, 3) for k, v in result.timings.items()},
                "prover_extra": result.extra,
            }
        )
        return record | self._checker_field(checker_info)

    def _checker_field(self, info: CheckerInfo | None) -> dict[str, Any]:
        """Which checker judged the result (backend, version, prelude), on every record."""
        try:
            info = info or self.checker.info
        except Exception:  # the checker cannot start a session: the reason is in the record already
            return {"checker": None}
        return {"checker": asdict(info)}

    def close(self) -> None:
        self.checker.close()


def _verdict_fields(verdict: Verdict, reason: str, proof: str | None, *, usable: bool = True, axioms=()) -> dict[str, Any]:
    return {
        "usable": usable,
        "verdict": verdict.value,
        "reason": reason,
        "proof": proof,
        "axioms": list(axioms),
        "time_s": 0.0,
        "attempts": 0,
        "successes": 0,
    }


def _warn_missing_packages(problems: list[Problem]) -> None:
    needing = [p for p in problems if missing_packages(p.requires)]
    if needing:
        packages = missing_packages(sorted({r for p in needing for r in p.requires}))
        log.warning(
            "%d of %d problems need Debian packages that are not installed (%s); they will be reported unusable. "
            "To use them: sudo apt-get install %s",
            len(needing), len(problems), ", ".join(packages), " ".join(packages),
        )


def _run_ray(
    address: str, worker_args: tuple, problems: list[Problem], workers: int
) -> Iterator[dict[str, Any]]:
    import ray
    from ray.util import ActorPool

    started = not ray.is_initialized()
    if started:
        connect_ray(address)
    actors = []
    try:
        actor = ray.remote(num_cpus=1)(ProblemEvaluator)
        actors = [actor.remote(*worker_args) for _ in range(min(workers, len(problems)))]
        pool = ActorPool(actors)
        yield from pool.map_unordered(lambda a, p: a.evaluate.remote(p), problems)
        for a in actors:
            ray.get(a.close.remote())
    finally:
        # Interrupted or failed: the actors (and with them their proof-assistant
        # processes, which die with their parent) go now, on a cluster as well.
        for a in actors:
            try:
                ray.kill(a)
            except Exception:  # already gone, or Ray itself is going down
                pass
        if started:
            ray.shutdown()


class RayClusterError(RunConfigError):
    """`--ray ADDRESS` cannot be used as it stands; the message says what to set."""


def connect_ray(address: str) -> None:
    """`ray.init` for `--ray`: a new local instance (""), or the cluster at ADDRESS.

    A cluster started with `ray start --head` uses token authentication when a
    token exists where Ray keeps it (~/.ray/auth_token, RAY_AUTH_TOKEN,
    RAY_AUTH_TOKEN_PATH), but a driver given an explicit address does not turn
    it on by itself, and would retry for 20 s before failing. So the cluster is
    asked first: if it wants a token and this machine has the right one, token
    authentication is turned on for this process (RAY_AUTH_MODE=token);
    otherwise the run stops at once, saying what to set.
    """
    import ray

    if address and "://" not in address and address not in ("auto", "local"):
        _prepare_cluster_auth(address)
    ray.init(address=address or None, include_dashboard=False, log_to_driver=False)


def _prepare_cluster_auth(address: str) -> None:
    from ray._raylet import AuthenticationTokenLoader

    where = "~/.ray/auth_token, RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH"
    answer = _ask_gcs(address, ())
    if answer == "ok":
        return
    if answer != "unauthenticated":
        raise RayClusterError(
            f"--ray {address}: no Ray cluster answers there ({answer}); start one on the head node with "
            "`ray start --head --port PORT` and pass HOST:PORT, or use `--ray` alone for a local Ray instance"
        )
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        raise RayClusterError(f"--ray {address}: the cluster uses token authentication but RAY_AUTH_MODE=disabled here; unset it")
    try:
        header = AuthenticationTokenLoader.instance().get_token_for_http_header(ignore_auth_mode=True)
    except Exception as exc:  # an unreadable token file
        raise RayClusterError(f"--ray {address}: cannot read the Ray token ({where}): {exc}") from None
    if not header:
        raise RayClusterError(
            f"--ray {address}: the cluster uses token authentication and this machine has no token. "
            "Copy the token `ray start` wrote on the head node (its ~/.ray/auth_token; `ray get-auth-token` prints it) "
            "to ~/.ray/auth_token here, or set RAY_AUTH_TOKEN=<token> (or RAY_AUTH_TOKEN_PATH=<file>)"
        )
    if _ask_gcs(address, tuple(header.items())) != "ok":
        raise RayClusterError(
            f"--ray {address}: the cluster refused this machine's Ray token (from {where}); "
            "use the head node's token (`ray get-auth-token` there)"
        )
    os.environ["RAY_AUTH_MODE"] = "token"  # for this process and the processes it starts
    from ray._raylet import Config

    Config.initialize("")  # Ray read its settings on import: make it see token mode


def _ask_gcs(address: str, metadata: tuple, timeout_s: float = 10.0) -> str:
    """Ask the cluster's GCS for its id: "ok", "unauthenticated", or why it did not answer."""
    import grpc
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        stub = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
        try:
            stub.GetClusterId(gcs_service_pb2.GetClusterIdRequest(), timeout=timeout_s, metadata=metadata)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                return "unauthenticated"
            return f"{exc.code().name}: {exc.details()}"
    return "ok"


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
    benchmark = load_benchmark(config.benchmark, config.split, config.data)
    from proofsmith.prover.registry import benchmark_defaults

    # what the prover takes from the benchmark (memory-search on coq-library: that trace's train part)
    config = replace(config, prover_options=tuple(sorted(benchmark_defaults(
        config.prover, dict(config.prover_options), benchmark.name, benchmark.data_path, benchmark.split).items())))
    selected = select_problems(benchmark, config.limit, config.problems, config.seed)
    if replays_reference(config.prover) and not any(p.reference_proof for p in selected):
        raise RunConfigError(f"--prover {config.prover} replays the benchmark's own proofs, and {benchmark.name} "
                             f"{benchmark.split} has none (coq-library has them)")
    from proofsmith.prover.registry import checker_settings

    settings = checker_settings(config.prover, dict(config.prover_options), CheckerSettings())
    identity = _identity(config, benchmark, selected, settings)
    _require_backend(identity["backend"], benchmark.name)
    budget = config.budget()
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_resume(out_dir, identity)

    with ResultsFile(out_dir / RESULTS) as results:
        records = results.open()
        selected_names = {p.name for p in selected}
        strangers = [r["name"] for r in records if r["name"] not in selected_names]
        if strangers:
            raise RunConfigError(f"{out_dir / RESULTS} holds results for problems outside this run: {', '.join(strangers[:5])}")
        done = {r["name"] for r in records}
        pending = [p for p in selected if p.name not in done]
        new = 0
        if pending:
            _warn_missing_packages(pending)
            context = {
                "benchmark": benchmark.name,
                "benchmark_source": {"repo": benchmark.source_repo, "commit": benchmark.source_commit},
                "budget": {"wall_s": budget.wall_s, "attempts": budget.attempts, "tactic_timeout_s": budget.tactic_timeout_s},
                "seed": config.seed,
            }
            load_path = benchmark.load_path.merged(config.load_path)
            worker_args = (identity["backend"], config.prover, dict(config.prover_options), budget, context, load_path)
            if config.ray is not None:
                stream = _run_ray(config.ray, worker_args, pending, config.workers)
            else:
                # cancelling closes the evaluators: a running problem stops at its next session lease, not at the end of its budget
                stream = parallel_map(ProblemEvaluator.evaluate, pending, config.workers,
                                      open_state=lambda: ProblemEvaluator(*worker_args), close_state=ProblemEvaluator.close,
                                      cancel_running=True, name="eval-worker")
            bar = _progress_bar(progress, benchmark, len(selected), len(done), records)
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

    summary = summarize(records, identity, selected, category_label=benchmark.category_label, notes=benchmark.notes)
    write_reports(out_dir, summary, records)
    return RunOutcome(out_dir, records, new, len(selected), summary)


def _progress_note(records: list[dict[str, Any]]) -> str:
    proved = sum(r["verdict"] == "proved" for r in records)
    usable = sum(bool(r.get("usable")) for r in records)
    return f"proved {proved}/{usable}"


def _progress_bar(enabled: bool, benchmark: Benchmark, total: int, initial: int, records: list[dict[str, Any]]):
    if not enabled:
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, initial=initial, desc=f"{benchmark.name} {benchmark.split}", unit="thm", dynamic_ncols=True)
    bar.set_postfix_str(_progress_note(records))
    return bar
