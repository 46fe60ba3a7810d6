"""Throughput of memory-search on stdlib theorems in context: tactics per second and where the time goes.

    .venv/bin/python bench/search_throughput.py [--problems 10] [--budget-s 20] [--seed 0]
        [--split novel_premises/test] [--trace .cache/trace/stdlib] [--add-first] [--expansions N]
    [--out FILE.jsonl]

Proves a seeded sample of the split (the draw `proofsmith eval --limit N --seed S` makes) with
`memory-search` at the given budget, one worker, each theorem in its own file, and prints per
theorem and in total: tactics run, tactics per second, expansions, and the breakdown of the
prover's time from the result's own timings (`ProverResult.timings`): the checker's calls to
coqidetop by kind (a tactic tried as a query, add, goals (runs the tactic and prints its goals),
parsing the goals, edit_at, other queries), the checker's Python side (the rest of its time: the
guard, sentence splitting, states), the memory's nearest-neighbour query and the adaptation of its
tactics, the rest of proposing, and search bookkeeping (the prover's time outside checker and
generator). `--add-first` turns off trying tactics as queries first (CoqSession.tactics_tried_first),
the behaviour before it, for a back-to-back comparison; with `--expansions N` both modes do the
same searches (the same tactics, while no tactic's first try times out in one and not the other),
so their times compare directly. Time per tactic in the checker and in Python are the figures
that depend least on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from tqdm import tqdm

from proofsmith.checker.coq.session import CoqSession
from proofsmith.eval.benchmarks import load_benchmark
from proofsmith.eval.evaluator import EvaluatorSpec, ProblemEvaluator
from proofsmith.eval.runner import select_problems
from proofsmith.prover.base import Budget

# (column, timing names it sums); checker calls are recorded by search as checker_<kind>
CHECKER_CALLS = (
    ("tactic query", ("checker_tactic_query",)),
    ("add", ("checker_add",)),
    ("goals", ("checker_goals",)),
    ("goals parse", ("checker_goals_parse",)),
    ("edit_at", ("checker_edit_at",)),
    ("query+force", ("checker_query", "checker_force")),
)


def breakdown(timings: dict[str, float], time_s: float) -> dict[str, float]:
    """The prover's time split into the parts this bench prints (seconds)."""
    parts = {name: sum(timings.get(k, 0.0) for k in keys) for name, keys in CHECKER_CALLS}
    calls = sum(parts.values()) - parts["goals parse"]  # goal parsing is inside the goals call
    parts["checker python"] = max(timings.get("checker", 0.0) - calls, 0.0)
    parts["memory query"] = timings.get("memory_query", 0.0)
    parts["memory adapt"] = timings.get("memory_adapt", 0.0)
    model = timings.get("model", 0.0)
    parts["proposing other"] = max(model - parts["memory query"] - parts["memory adapt"], 0.0)
    parts["retrieval"] = timings.get("retrieval", 0.0)
    parts["search bookkeeping"] = max(time_s - timings.get("checker", 0.0) - model - parts["retrieval"], 0.0)
    return parts


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=10)
    parser.add_argument("--budget-s", type=float, default=20.0)
    parser.add_argument("--tactic-timeout-s", type=float, default=10.0)
    parser.add_argument("--expansions", type=int, default=None,
                        help="also stop each search after this many expansions: the same work in both modes, "
                             "so the time it takes is what compares")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="novel_premises/test")
    parser.add_argument("--trace", default=".cache/trace/stdlib")
    parser.add_argument("--add-first", action="store_true",
                        help="add every tactic to the document (no query first): the behaviour before")
    parser.add_argument("--out", type=Path, default=None, help="also append one JSON line per theorem here")
    args = parser.parse_args()
    if args.problems < 1 or args.budget_s <= 0 or (args.expansions is not None and args.expansions < 1):
        parser.error("--problems and --expansions must be at least 1 and --budget-s positive")
    if not Path(args.trace).is_dir():
        parser.error(f"--trace {args.trace}: no such folder (expected one written by `proofsmith trace`)")
    CoqSession.tactics_tried_first = not args.add_first

    benchmark = load_benchmark("coq-library", args.split, args.trace)
    problems = select_problems(benchmark, args.problems, None, args.seed)
    strategy = args.split.split("/", 1)[0]
    spec = EvaluatorSpec("coq", "memory-search", {"memory": args.trace, "memory_split": strategy},
                         Budget(wall_s=args.budget_s, tactic_timeout_s=args.tactic_timeout_s, seed=args.seed,
                                expansions=args.expansions))
    print(f"load at start: {load()}; {len(problems)} theorems of {args.split}, {args.budget_s:g} s each, "
          f"{'add first' if args.add_first else 'tactics tried as queries first'}", flush=True)
    evaluator = ProblemEvaluator(spec)
    rows = []
    try:
        for problem in tqdm(problems, desc="theorems", unit="thm", file=sys.stderr):
            t0 = time.perf_counter()
            record = evaluator.evaluate(problem)
            wall = time.perf_counter() - t0
            extra = record.get("prover_extra") or {}
            time_s = float(record.get("time_s") or 0.0)
            row = {
                "name": problem.name, "verdict": record["verdict"], "wall_s": round(wall, 2), "time_s": time_s,
                "tactics": int(extra.get("tactics", 0)), "expansions": int(extra.get("expansions", 0)),
                "parts": {k: round(v, 3) for k, v in breakdown(record.get("timings") or {}, time_s).items()},
                "checker_s": float((record.get("timings") or {}).get("checker", 0.0)),
            }
            rows.append(row)
            if args.out is not None:
                with open(args.out, "a", encoding="utf-8") as f:
                    f.write(json.dumps(row | {"add_first": args.add_first, "load": load()}) + "\n")
            per_s = row["tactics"] / time_s if time_s else 0.0
            tqdm.write(f"{problem.name}: {row['verdict']}, {row['tactics']} tactics in {time_s:.1f} s "
                       f"({per_s:.1f}/s), {row['expansions']} expansions; "
                       + ", ".join(f"{k} {v:.2f}" for k, v in row["parts"].items() if v >= 0.005))
    finally:
        evaluator.close()

    usable = [r for r in rows if r["verdict"] != "error" or r["tactics"]]
    tactics = sum(r["tactics"] for r in usable)
    time_s = sum(r["time_s"] for r in usable)
    checker = sum(r["checker_s"] for r in usable)
    parts = {k: sum(r["parts"][k] for r in usable) for k in (usable[0]["parts"] if usable else {})}
    proved = sum(r["verdict"] == "proved" for r in usable)
    print(f"\nload at end: {load()}")
    print(f"total: {len(usable)} theorems, {proved} proved, {tactics} tactics in {time_s:.1f} s of search "
          f"({tactics / time_s if time_s else 0:.1f} tactics/s), "
          f"{sum(r['expansions'] for r in usable) / max(len(usable), 1):.1f} expansions per theorem")
    if tactics:
        print(f"per tactic: {1000 * checker / tactics:.2f} ms in the checker, "
              f"{1000 * (time_s - checker) / tactics:.2f} ms elsewhere")
    for name, seconds in parts.items():
        print(f"  {name:>18}: {seconds:7.2f} s  ({100 * seconds / time_s if time_s else 0:5.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
