"""Latency of `proofsmith suggest`: seconds to the first checked suggestion and to the full list.

    .venv/bin/python bench/suggest_latency.py [--goals 20] [--no-model | --model PATH] [--seed 0]
        [--tactic-timeout-s 3] [--threads N] [--json]

Takes a seeded sample of miniF2F-Coq test statements (the bundled data), opens
each one's first goal and asks the suggestion engine (prover.suggestion, the
sources `proofsmith suggest` uses by default: automation, then the shipped
SmolLM2 through CTranslate2 int8 on CPU) for its suggestions, every candidate
run by Coq. Per goal it records the time to the first suggestion kept (what
the screen shows first), to the full list (the model's candidates checked
too), and how many were kept. Prints the median and p90 of both. The model is
loaded before the first goal; its load time is printed on its own (the
terminal program loads it in the background while the first goal is shown).
Statements that do not elaborate here are skipped and replaced.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time

from proofsmith.checker.coq.session import CoqSession
from proofsmith.checker.settings import CheckerSettings
from proofsmith.eval.benchmarks import load_benchmark
from proofsmith.prover.suggestion import SuggestionEngine, automation_source, model_source, percentile


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--goals", type=int, default=20)
    models = parser.add_mutually_exclusive_group()
    models.add_argument("--model", default=None, help="checkpoint folder or .gguf (default: the shipped SmolLM2)")
    models.add_argument("--no-model", action="store_true", help="automation only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tactic-timeout-s", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="also print one JSON line per goal")
    args = parser.parse_args()

    problems = [p for p in load_benchmark("minif2f-coq", "test").problems]
    random.Random(args.seed).shuffle(problems)
    sources = [automation_source()]
    load_s = 0.0
    if not args.no_model:
        model = model_source(args.model, **({"threads": args.threads} if args.threads else {}))
        t0 = time.perf_counter()
        model.get()  # loaded before the first goal: its load time is reported on its own
        load_s = time.perf_counter() - t0
        sources.append(model)
        print(f"model loaded in {load_s:.1f} s ({type(model.generator).__name__})", file=sys.stderr)
    rows = []
    with CoqSession(CheckerSettings(workers=1, timeout_s=60)) as session:
        for problem in problems:
            if len(rows) >= args.goals:
                break
            try:
                engine = SuggestionEngine(session, problem.theorem, sources, tactic_timeout_s=args.tactic_timeout_s,
                                          open_timeout_s=60)
            except ValueError:
                continue  # does not elaborate with the packages installed here
            suggestions = engine.suggest(wait=True)
            timing = engine.timing
            row = {
                "theorem": problem.name,
                "first_s": None if timing.first_s is None else round(timing.first_s, 3),
                "full_s": round(timing.full_s, 3),
                "shown": len(suggestions),
                "closing": sum(s.finished for s in suggestions),
                "candidates": timing.candidates,
                "checked": timing.checked,
                "sources_s": timing.per_source_s,
                "best": suggestions[0].tactic if suggestions else None,
                "by_source": {label: sum(label in x.sources for x in suggestions)
                              for label in sorted({s for x in suggestions for s in x.sources})},
            }
            rows.append(row)
            if args.json:
                print(json.dumps(row))
            print(f"{problem.name:<40} first {_fmt(row['first_s'])}  full {row['full_s']:6.2f} s  "
                  f"{row['shown']:>2} shown ({row['closing']} closing) of {row['checked']} checked", file=sys.stderr)
    firsts = [r["first_s"] for r in rows if r["first_s"] is not None]
    fulls = [r["full_s"] for r in rows]
    label = "automation only" if args.no_model else f"automation + {args.model or 'SmolLM2-135M (default)'}"
    print(f"\nproofsmith suggest latency: {len(rows)} miniF2F-Coq test goals (seed {args.seed}), {label}, "
          f"tactic timeout {args.tactic_timeout_s:g} s" + (f", model load {load_s:.1f} s" if load_s else ""))
    print(f"{'':<26} {'median':>8} {'p90':>8} {'max':>8}")
    if firsts:
        print(f"{'to first suggestion (s)':<26} {statistics.median(firsts):>8.2f} {percentile(firsts, 90):>8.2f} "
              f"{max(firsts):>8.2f}   ({len(rows) - len(firsts)} goal(s) with no suggestion)")
    print(f"{'to full list (s)':<26} {statistics.median(fulls):>8.2f} {percentile(fulls, 90):>8.2f} {max(fulls):>8.2f}")
    print(f"{'suggestions shown':<26} {statistics.median([r['shown'] for r in rows]):>8.1f}")
    totals: dict[str, int] = {}
    for r in rows:
        for label, count in r["by_source"].items():
            totals[label] = totals.get(label, 0) + count
    print("suggestions shown, by source (all goals): " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
    return 0


def _fmt(value: float | None) -> str:
    return "  none" if value is None else f"{value:6.2f} s"


if __name__ == "__main__":
    sys.exit(main())
