"""What online learning adds to the tactic memory: memory-search on the first N theorems of a
coq-library split, in file order, with the memory learning every proof found (memory_online=true)
and without (memory_online=false).

    .venv/bin/python bench/tactic_memory_online.py --data .cache/trace/stdlib --split random/test \\
        --limit 300 --budget-s 20 --workers 2 [--out runs/tactic-memory-online] [--side-by-side]

The first N theorems of the split file, not a random sample: neighbouring theorems of one file
are where a proof just found helps the next one. Each way is one `proofsmith eval` run into
OUT/online and OUT/offline; eval resumes, so a killed bench reruns only what is missing. Both
memories hold the split strategy's train part (never a test theorem's human proof); the online
one also what the run proved so far, shared by the eval workers.

With --side-by-side both ways run at once, each with half the workers, so that both see the same
machine load (a busy machine turns fast proofs into timeouts at a fixed budget).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from proofsmith.checker.child_process import popen
from proofsmith.formats.run_records import read_results


def first_problems(data: str, split: str, limit: int) -> list[str]:
    """The names of the split's first `limit` problems, in file order."""
    from proofsmith.eval.benchmarks import load_benchmark

    return [p.name for p in load_benchmark("coq-library", split, data).problems[:limit]]


def way_command(args: argparse.Namespace, names: list[str], online: bool, workers: int) -> list[str]:
    out = args.out / ("online" if online else "offline")
    return [
        sys.executable, "-m", "proofsmith.cli", "eval", "--benchmark", "coq-library", "--data", args.data,
        "--split", args.split, "--problems", ",".join(names), "--prover", "memory-search",
        "--prover-option", f"memory_online={'true' if online else 'false'}",
        "--budget-s", str(args.budget_s), "--workers", str(workers), "--seed", "0", "--no-progress",
        "--out", str(out),
    ]


def run_ways(args: argparse.Namespace, names: list[str]) -> None:
    """Both evals, one after the other with all workers, or side by side with half each."""
    workers = max(1, args.workers // 2) if args.side_by_side else args.workers
    commands = [way_command(args, names, online, workers) for online in (False, True)]
    for command in commands:
        print(f"+ proofsmith eval ... --prover memory-search --prover-option {command[command.index('--prover-option') + 1]}"
              f" --workers {workers} --out {command[-1]}", flush=True)
    # The evals die with this script (SIGTERM, SIGKILL); they share the terminal's Ctrl-C.
    if args.side_by_side:
        running = [popen(command, start_new_session=False) for command in commands]
        codes = [process.wait() for process in running]
    else:
        codes = [popen(command, start_new_session=False).wait() for command in commands]
    if any(codes):
        raise SystemExit(f"an eval failed (exit codes {codes}); rerun to resume it")


def proved(run_dir: Path) -> dict[str, bool]:
    return {r["name"]: r["verdict"] == "proved" for r in read_results(run_dir / "results.jsonl")}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data", default=".cache/trace/stdlib", help="trace folder (proofsmith trace)")
    parser.add_argument("--split", default="random/test", help="coq-library split, e.g. random/test")
    parser.add_argument("--limit", type=int, default=300, help="the first N theorems of the split, in file order")
    parser.add_argument("--budget-s", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/tactic-memory-online"))
    parser.add_argument("--side-by-side", action="store_true",
                        help="run both ways at once, each with half the workers (same machine load for both)")
    args = parser.parse_args()
    if args.limit < 1:
        parser.error(f"--limit must be at least 1, got {args.limit}")

    names = first_problems(args.data, args.split, args.limit)
    run_ways(args, names)
    results = {online: proved(args.out / ("online" if online else "offline")) for online in (False, True)}
    offline, online = results[False], results[True]
    gained = sorted(n for n in names if online.get(n) and not offline.get(n))
    lost = sorted(n for n in names if offline.get(n) and not online.get(n))
    print(f"\n{args.split}, first {len(names)} theorems in file order, {args.budget_s:g} s each, "
          f"{args.workers} workers{' (half each, side by side)' if args.side_by_side else ''}:")
    print(f"  memory-search, memory_online=false: {sum(offline.values())} / {len(names)} proved")
    print(f"  memory-search, memory_online=true:  {sum(online.values())} / {len(names)} proved")
    print(f"  proved only online: {len(gained)}; only offline: {len(lost)}")
    for name in gained:
        print(f"    + {name}")
    for name in lost:
        print(f"    - {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
