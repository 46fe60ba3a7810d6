"""`proofsmith eval`: run a prover on a benchmark split, resumably, and report the pass rate.

    proofsmith eval --benchmark minif2f-coq --split test --prover portfolio \\
        [--budget-s S] [--attempts K] [--workers N] [--limit N] [--seed S] \\
        [--data PATH] [--ray [ADDRESS]] [--decision-procedures lia,lra] --out runs/NAME

Results go to runs/NAME/results.jsonl, one line per finished theorem, flushed
as each finishes; rerunning the same command resumes where it stopped.
summary.json, report.md and report.html are rewritten at the end of every run.
"""

from __future__ import annotations

import os
from pathlib import Path

from proofsmith.cli import load_path_options, shared_options
from proofsmith.cli.errors import UsageError


def register(sub) -> None:
    from proofsmith.eval.benchmarks import BENCHMARKS
    from proofsmith.prover.registry import PROVERS

    p = sub.add_parser(
        "eval",
        help="evaluate a prover on a benchmark split (resumable)",
        description="Evaluate a prover on a benchmark split. Rerunning the same command resumes the run.",
    )
    p.add_argument("--benchmark", required=True, choices=list(BENCHMARKS), help="which benchmark")
    p.add_argument("--split", default=None, help="split (default: test, or the benchmark's only split)")
    p.add_argument("--data", default=None, metavar="PATH",
                   help="benchmark data on your disk instead of the bundled copy (required for leandojo: the Benchmark 4 "
                        "directory; for coq-library: a trace folder from `proofsmith trace`; for fstar-dataset: a copy "
                        "of FStarDataSet)")
    p.add_argument("--backend", default=None,
                   help="checker backend (default: the benchmark's; kimina can check Lean benchmarks on a Kimina server)")
    # Not argparse choices: an unknown name gets the same one-line error as every other bad option.
    p.add_argument("--prover", default="portfolio", metavar="PROVER",
                   help=f"which prover: {', '.join(PROVERS)} (default: portfolio)")
    shared_options.add_model(
        p, help="model for learned provers (directory or hub id cached locally; with --model-url, the served name)")
    shared_options.add_prover_options(p)
    p.add_argument("--protocol", default=None, choices=("random", "chronological"),
                   help="coq-library with a tactic memory: random (LeanDojo's: the strategy's train proofs) or "
                        "chronological (Tactician's: only the theorems before each target, in library order)")
    p.add_argument("--decision-procedures", default=None, metavar="NAME[,NAME...]",
                   help="coq-library: load these decision procedures (lia, lra, hammer) before each theorem's proof, "
                        "inside it right after the statement, only where the leak check on the trace's import graph "
                        "finds it sound (their libraries neither the theorem's file nor a file depending on it); "
                        "every decision is recorded with the result. Default: none (the strict in-file row)")
    p.add_argument("--budget-s", type=float, default=60.0, help="wall-clock seconds per problem, all attempts together (default 60)")
    p.add_argument("--attempts", type=int, default=1, help="attempts K per problem, for pass@k (default 1)")
    p.add_argument("--tactic-timeout-s", type=float, default=10.0, help="seconds per tactic (default 10)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="problems in parallel (default: cores)")
    p.add_argument("--limit", type=int, default=None,
                   help="evaluate N problems drawn at random with --seed (the same N, seed and data: the same sample)")
    p.add_argument("--problems", default=None, metavar="NAME[,NAME...]", help="evaluate only these problems")
    shared_options.add_seed(p, help="seed of the --limit sample and of the provers (default 0)")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run workers as Ray actors: on a new local Ray instance, or on the cluster at ADDRESS")
    p.add_argument("--out", required=True, type=Path, help="run directory, e.g. runs/minif2f-test-portfolio")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    load_path_options.add_arguments(p, what="the libraries the headers require (coq-mutants records its own)")
    p.set_defaults(func=run)


def _prover_options(args) -> tuple[tuple[str, object], ...]:
    options = shared_options.prover_options(args)
    if getattr(args, "protocol", None) is not None:  # coq-library's protocol is what the tactic memory may hold
        options["memory_protocol"] = args.protocol
    return tuple(sorted(options.items()))


def _names(text: str | None) -> tuple[str, ...]:
    """A comma-separated list of names, blanks dropped."""
    return tuple(n.strip() for n in text.split(",") if n.strip()) if text else ()


def run(args) -> int:
    from proofsmith.eval.benchmarks import BenchmarkDataError, BenchmarkSelectionError
    from proofsmith.eval.ray_cluster import RayClusterError
    from proofsmith.eval.report import headline
    from proofsmith.eval.runner import RunConfig, RunConfigError, run_eval
    from proofsmith.formats.run_records import ResultsFileError
    from proofsmith.prover.registry import ProverOptionError

    problems = _names(args.problems) or None
    load_path_options.prepare_project(args)  # a project's missing .vo files, built into the cache
    config = RunConfig(
        benchmark=args.benchmark,
        split=args.split,
        data=args.data,
        backend=args.backend,
        prover=args.prover,
        prover_options=_prover_options(args),
        budget_s=args.budget_s,
        attempts=args.attempts,
        tactic_timeout_s=args.tactic_timeout_s,
        seed=args.seed,
        limit=args.limit,
        problems=problems,
        workers=args.workers,
        ray=args.ray,
        load_path=load_path_options.load_path_from(args),
        decision_procedures=_names(args.decision_procedures),
    )
    try:
        outcome = run_eval(config, args.out, progress=not args.no_progress)
    except BenchmarkDataError as exc:
        raise UsageError(f"bad benchmark data: {exc}") from None
    except (BenchmarkSelectionError, RunConfigError, RayClusterError, ResultsFileError, ProverOptionError) as exc:
        raise UsageError(str(exc)) from None
    print(headline(outcome.summary))
    print(f"results: {outcome.out_dir / 'results.jsonl'}  report: {outcome.out_dir / 'report.html'}")
    return 0
