"""Best-first search throughput: expansions per second and where the time goes.

    .venv/bin/python bench/prover_throughput.py [--generators model-free,default]
        [--problems 20] [--budget-s 10] [--tactics 8] [--retriever INDEX] [--threads 1]

Runs search on a seeded sample of miniF2F-Coq test statements with each
generator ("model-free", "default" for SmolLM2, or a checkpoint folder) and
prints, per generator: problems, proved, expansions, expansions per second,
and the share of search time spent in the model, the retriever, the checker
and the search itself (queueing, tree bookkeeping).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time

from tqdm import tqdm

from proofsmith.checker.registry import open_checker
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import Verdict
from proofsmith.eval.benchmarks import load_benchmark
from proofsmith.prover.base import Budget
from proofsmith.prover.generators import make_generator
from proofsmith.prover.registry import load_retriever
from proofsmith.prover.search import BestFirstSearchProver


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--generators", default="model-free,default")
    parser.add_argument("--problems", type=int, default=20)
    parser.add_argument("--budget-s", type=float, default=10.0)
    parser.add_argument("--tactics", type=int, default=8)
    parser.add_argument("--retriever", default=None, metavar="INDEX")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="also print one JSON line per generator")
    args = parser.parse_args()

    problems = list(load_benchmark("minif2f-coq", "test").problems)
    random.Random(args.seed).shuffle(problems)
    problems = problems[: args.problems]
    retriever = load_retriever(args.retriever) if args.retriever else None
    budget = Budget(wall_s=args.budget_s, tactics_per_expansion=args.tactics, tactic_timeout_s=5.0)
    rows = []
    with open_checker("coq", CheckerSettings(workers=1)) as checker:
        for spec in args.generators.split(","):
            t0 = time.perf_counter()
            if spec == "model-free":
                generator = make_generator("model-free")
            else:
                generator = make_generator("transformers", None if spec == "default" else spec, threads=args.threads)
            load_s = time.perf_counter() - t0
            prover = BestFirstSearchProver(generator, retriever=retriever)
            totals = {"model": 0.0, "retrieval": 0.0, "checker": 0.0}
            expansions = proved = usable = 0
            wall = 0.0
            for problem in tqdm(problems, desc=spec, unit="thm", file=sys.stderr):
                result = prover.prove(problem.theorem, checker, budget)
                if result.verdict is Verdict.ERROR:
                    continue  # the statement does not compile here
                usable += 1
                proved += result.proved
                expansions += result.extra.get("expansions", 0)
                wall += result.time_s
                for name in totals:
                    totals[name] += result.timings.get(name, 0.0)
            other = max(wall - sum(totals.values()), 0.0)
            row = {
                "generator": spec, "load_s": round(load_s, 2), "problems": usable, "proved": proved,
                "expansions": expansions, "wall_s": round(wall, 1),
                "expansions_per_s": round(expansions / wall, 2) if wall else 0.0,
                "share": {k: round(v / wall, 3) if wall else 0.0 for k, v in (totals | {"search": other}).items()},
            }
            rows.append(row)
            if args.json:
                print(json.dumps(row))
    print(f"\nminiF2F-Coq test, {args.problems} problems (seed {args.seed}), {args.budget_s:g} s each, "
          f"{args.tactics} tactics/expansion, retriever: {args.retriever or 'none'}")
    print(f"{'generator':<28} {'usable':>6} {'proved':>6} {'expans.':>8} {'exp/s':>7} "
          f"{'model':>7} {'retr.':>7} {'checker':>8} {'search':>7}")
    for r in rows:
        s = r["share"]
        print(f"{r['generator'][-28:]:<28} {r['problems']:>6} {r['proved']:>6} {r['expansions']:>8} "
              f"{r['expansions_per_s']:>7.2f} {s['model']:>7.1%} {s['retrieval']:>7.1%} {s['checker']:>8.1%} "
              f"{s['search']:>7.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
