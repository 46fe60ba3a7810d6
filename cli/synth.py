"""`proofsmith synth mutate`: a verified, augmented theorem corpus by symbolic mutation.

Reads a trace directory (`proofsmith trace --library stdlib --out DIR`),
mutates its theorems with the rewrite and apply rules (data_synth.mutation),
checks every mutant with the guarded checker, and appends the unique verified
ones to OUT (JSON Lines). Beside OUT: OUT.parents.jsonl and OUT.source.jsonl
(resume logs), OUT.funnel.json and OUT.funnel.md (the funnel), and
OUT.benchmark/ (the mutants as a LeanDojo Benchmark 4 directory, for
`proofsmith train` and the retriever). Rerunning the same command resumes.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from proofsmith.cli import load_path_options
from proofsmith.cli.errors import UsageError

DEFAULT_TRACE_ROOT = Path(".cache/trace")


def register(sub) -> None:
    p = sub.add_parser("synth", help="synthesize verified training data (mutation)")
    synth = p.add_subparsers(dest="synth_command", required=True, metavar="SYNTH_COMMAND")
    m = synth.add_parser("mutate", help="mutate a traced library's theorems (rewrite and apply rules)")
    m.add_argument("--library", default="stdlib", help="library name; its trace is looked up in .cache/trace/NAME")
    m.add_argument("--trace", type=Path, default=None, help="trace directory (corpus.jsonl) instead of .cache/trace/LIBRARY")
    m.add_argument("--limit", type=int, default=None,
                   help="mutate only the first N theorems (corpus order, after --files/--area)")
    m.add_argument("--files", default=None, metavar="GLOB",
                   help="mutate only theorems of corpus files matching GLOB, e.g. 'theories/Lists/*.v'")
    m.add_argument("--area", default=None, metavar="AREA",
                   help="mutate only theorems of one library area (a folder under the library root: Lists, "
                        "Arith, Numbers/Natural, ...)")
    m.add_argument("--workers", type=int, default=None, help="checker processes (default: cores)")
    m.add_argument("--rules", default="rewrite,apply", help="comma-separated: rewrite, apply")
    m.add_argument("--max-attempts", type=int, default=200, help="checker steps per rule per theorem")
    m.add_argument("--side-conditions", action="store_true",
                   help="keep conditional rewrites, their side conditions becoming hypotheses of the mutant")
    m.add_argument("--tactic-timeout", type=float, default=1.0, help="seconds per interactive step")
    m.add_argument("--check-timeout", type=float, default=20.0, help="seconds per whole-proof check")
    m.add_argument("--out", type=Path, required=True, help="output corpus (JSON Lines)")
    load_path_options.add_arguments(m, what="libraries beyond those the trace's metadata.json names")
    m.set_defaults(func=run_mutate)


def run_mutate(args) -> int:
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings
    from proofsmith.data_synth.mutant_corpus import export_benchmark
    from proofsmith.data_synth.mutation import RULES, MutationSettings
    from proofsmith.data_synth.mutation_run import (
        LibraryError,
        MutationLibrary,
        areas,
        mutate_library,
        select_parents,
    )

    trace = args.trace or DEFAULT_TRACE_ROOT / args.library
    if not trace.is_dir():
        hint = "" if args.trace else f"; trace the library first: proofsmith trace --library {args.library} --out {trace}"
        raise UsageError(f"--trace {trace}: no such directory{hint}")
    rules = tuple(r.strip() for r in args.rules.split(",") if r.strip())
    bad = [r for r in rules if r not in RULES]
    if bad or not rules:
        raise UsageError(f"--rules {args.rules}: unknown rule(s) {', '.join(bad) or '(none given)'}; choose from {', '.join(RULES)}")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit {args.limit}: must be at least 1")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: must be at least 1")
    if args.max_attempts < 1:
        raise UsageError(f"--max-attempts {args.max_attempts}: must be at least 1")
    if args.out.exists() and args.out.is_dir():
        raise UsageError(f"--out {args.out}: is a directory, expected a .jsonl file path")
    try:
        load_path_options.prepare_project(args)  # a project's missing .vo files, built into the cache
        library = MutationLibrary.load(trace, load_path_options.load_path_from(args), progress=True)
        parents = select_parents(library, args.files, args.area, args.limit)
    except LibraryError as exc:
        raise UsageError(f"--trace {trace}: {exc}") from None
    print(f"proofsmith synth mutate: {len(parents)} of {len(library.parents)} theorems to mutate"
          f" (first: {parents[0].full_name})", file=sys.stderr)
    overrides = {"timeout_s": max(args.check_timeout, args.tactic_timeout)}
    if args.workers is not None:
        overrides["workers"] = args.workers
    settings = CheckerSettings(**overrides).with_load_path(library.load_path)
    settings_m = MutationSettings(
        max_attempts=args.max_attempts,
        tactic_timeout_s=args.tactic_timeout,
        check_timeout_s=args.check_timeout,
        rules=rules,
        side_conditions=args.side_conditions,
    )
    command = "proofsmith " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else ""
    with open_checker("coq", settings) as checker:
        funnel = mutate_library(library, checker, args.out, args.limit, settings.workers, settings_m, command,
                                parents=parents)
    print(funnel.table())
    benchmark_dir = args.out.with_name(args.out.name + ".benchmark")
    if not args.out.is_file() or not args.out.stat().st_size:
        # a result, not bad input: the funnel says where the candidates dropped out
        print(f"no verified mutant from these {len(parents)} theorems (the funnel above says where candidates "
              f"dropped out; funnel: {args.out}.funnel.md); try a larger --limit or another area (--area "
              f"{', '.join(areas(library)[:6])}, ...)", file=sys.stderr)
        return 0
    sizes = export_benchmark(args.out, benchmark_dir, trace / "corpus.jsonl", library.positions())
    run = funnel.run
    print(
        f"this run: {run['parents_this_run']} theorems in {run['wall_minutes_this_run']} min, "
        f"{run['verified_per_minute_this_run']} verified / {run['unique_per_minute_this_run']} unique mutants per minute "
        f"({run['workers']} workers); all runs: {funnel.verified_per_worker_minute()} verified per worker-minute"
    )
    print(f"corpus: {args.out}; funnel: {args.out}.funnel.md; benchmark: {benchmark_dir} "
          f"(train {sizes['train']}, val {sizes['val']}, test {sizes['test']})")
    empty = [part for part in ("val", "test") if not sizes[part]]
    if empty:
        print(f"no {' and no '.join(empty)} mutants: a mutant goes to its parent theorem's part (5% of parents "
              f"each to val and test, by a hash of the parent's name, so no parent's mutants leak across "
              f"parts); the {sum(sizes.values())} mutants here come from {_parents_with_mutants(args.out)} "
              f"parent(s), none in {' or '.join(empty)}. Mutate more theorems (--limit, --area) for "
              f"`eval --benchmark coq-mutants --split {empty[-1]}`", file=sys.stderr)
    return 0


def _parents_with_mutants(corpus: Path) -> int:
    from proofsmith.formats.mutant_record import read_records

    return len({record.parent for _, record in read_records(corpus)})
