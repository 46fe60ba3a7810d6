"""`proofsmith compare RUN_A RUN_B [RUN ...]`: eval runs of the same sample side by side.

    proofsmith compare runs/portfolio runs/portfolio-hammer [--out runs/compare-portfolio]

Prints each run's pass rate on the shared problems (95% Wilson interval), the
paired counts against A (both, A only, B only) with the exact McNemar test,
and the problems proved by one run only; writes compare.md, compare.html and
compare.png (eval.compare) to --out (default: beside A, compare-A-vs-B).
Exit 0; 2 on runs that cannot be compared.
"""

from __future__ import annotations

from pathlib import Path

from proofsmith.cli.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare eval runs of the same sample (paired table, intervals, McNemar)")
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders written by `proofsmith eval --out`")
    p.add_argument("--out", type=Path, default=None, help="folder for compare.{md,html,png} (default: beside the first run)")
    p.set_defaults(func=run)


def run(args) -> int:
    from proofsmith.eval.compare import CompareError, compare_runs, pair_rows, problem_rows, run_rows, write_comparison

    try:
        comparison = compare_runs(args.runs)
    except CompareError as exc:
        raise UsageError(str(exc)) from None
    out = args.out or args.runs[0].parent / f"compare-{args.runs[0].name}-vs-{args.runs[1].name}"
    paths = write_comparison(comparison, out)
    print(f"{len(comparison.shared)} shared problems")
    for letter, title, budget, rate, folder in run_rows(comparison):
        print(f"{letter}  {rate:<32} {title} ({budget}; {folder})")
    for pair, both, only_a, only_b, neither, _, reading in pair_rows(comparison):
        print(f"{pair}: both {both}, only {pair[0]} {only_a}, only {pair[-1]} {only_b}, neither {neither}; {reading}")
    discordant = [row for row in problem_rows(comparison) if row[1] not in ("both", "all", "neither", "none")]
    if discordant:
        letters = "  ".join(r.letter for r in comparison.runs)
        print(f"\nproved by some runs only ({len(discordant)}):\n{'problem':<40} {'proved by':<10} {letters}")
        for name, cls, *verdicts in discordant:
            print(f"{name:<40} {cls:<10} " + "  ".join(verdicts))
    print(f"\nreport: {paths['html']}  markdown: {paths['markdown']}  plot: {paths['plot']}")
    return 0
