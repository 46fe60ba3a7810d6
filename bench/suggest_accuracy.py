"""Accuracy of `proofsmith suggest` on held-out lines of the stdlib, against Tactician's 23.4%.

    nice .venv/bin/python bench/suggest_accuracy.py [--trace .cache/trace/stdlib] [--theorems 60]
        [--seed 0] [--show 5] [--out runs/suggest_accuracy.jsonl]

Each sampled theorem of the trace's random/test part is opened where it
stands in its file (its file replayed up to the statement, as `suggest
--file` does), and its human proof is walked step by step: at each step the
suggestion engine (prover.suggestion) is asked for its list, with what
`suggest --file` uses inside a project: automation, a tactic memory of the
library's proofs *before* the theorem (the chronological protocol of
prover.tactic_memory, as Tactician learns: earlier proofs of the file and of
the files before it, never this proof or anything after it) and BM25
premises over the declarations accessible to it. A step counts when the
human's tactic (spaces normalized), or a suggestion that closes the goal in
focus, is among the top `--show` (5) suggestions; the top-1 share is printed
beside it. Then the human's tactic is run and the walk goes on (a theorem
whose human step fails here ends its walk). Bullets and braces are run, not
counted. Every suggestion was run by Coq before it is shown, so "closes the
goal" is Coq's verdict.

Tactician (Blaauwbroek et al. 2020) reports 23.4% tactic-prediction accuracy
(top 1, the human's tactic exactly) on the stdlib. The two numbers differ in
kind: ours counts a closing suggestion as a hit and looks at the top 5 shown;
the top-1-human column is the like-for-like one.

One JSON line per step goes to --out (appended, flushed: a killed run resumes
after its last finished theorem).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import cast

from proofsmith.checker.coq.file_context import STDLIB, ContextError, theorem_in_context
from proofsmith.checker.coq.session import CoqSession
from proofsmith.checker.settings import CheckerSettings
from proofsmith.formats.leandojo import read_split
from proofsmith.prover.generators.tactic_memory import TacticMemoryGenerator
from proofsmith.prover.premises import PremiseRetriever
from proofsmith.prover.suggestion import SuggestionEngine, automation_source, project_memory_source
from proofsmith.prover.tactic_memory import TacticMemory
from proofsmith.retrieval.bm25 import BM25Retriever
from proofsmith.retrieval.corpus import Corpus

TACTICIAN_TOP1 = 0.234


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).rstrip(".") == " ".join(b.split()).rstrip(".")


def _structural(tactic: str) -> bool:
    text = tactic.strip()
    return text in ("{", "}") or set(text) <= set("-+*") or text.startswith(("Proof", "Qed", "Defined"))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--trace", type=Path, default=Path(".cache/trace/stdlib"))
    parser.add_argument("--theorems", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=5)
    parser.add_argument("--max-steps", type=int, default=30, help="steps walked per theorem at most")
    parser.add_argument("--out", type=Path, default=Path("runs/suggest_accuracy.jsonl"))
    args = parser.parse_args()

    theorems = [t for t in read_split(args.trace / "random" / "test.json") if t.traced_tactics]
    random.Random(args.seed).shuffle(theorems)
    sample = sorted(theorems[: args.theorems], key=lambda t: (t.file_path, t.start))  # one replay per file
    done = set()
    if args.out.is_file():
        done = {json.loads(line)["theorem"] for line in args.out.read_text().splitlines() if line.strip()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    memory = TacticMemory.from_trace(args.trace, "random", protocol="chronological", progress=True)
    generator = TacticMemoryGenerator(memory, online=False)
    source = project_memory_source(memory)
    source.generator = generator
    # BM25's hits have the name, statement and score the premise protocol reads
    retriever = cast("PremiseRetriever", BM25Retriever(Corpus.load(args.trace / "corpus.jsonl")))
    print(f"memory ({len(memory)} steps) and premises ready in {time.perf_counter() - t0:.0f} s; "
          f"{len(sample)} theorems, {len(done)} done before", file=sys.stderr)
    with CoqSession(CheckerSettings(workers=1, timeout_s=120)) as session, args.out.open("a") as out:
        for number, traced in enumerate(sample, 1):
            if traced.full_name in done:
                continue
            try:
                theorem = theorem_in_context(STDLIB, traced.file_path, traced.full_name, traced.start[0])
                generator.start(theorem)
                engine = SuggestionEngine(session, theorem, [automation_source(), source], retriever=retriever,
                                          tactic_timeout_s=2.0, list_budget_s=10.0)
            except (ContextError, ValueError) as exc:
                print(f"{traced.full_name}: skipped ({' '.join(str(exc).split())[:120]})", file=sys.stderr)
                continue
            rows = []
            for step in traced.traced_tactics[: args.max_steps]:
                human = step.tactic.strip()
                if not _structural(human) and engine.state.goals:
                    started = time.perf_counter()
                    shown = engine.suggest(limit=args.show)
                    tactics = [s.tactic for s in shown]
                    human_rank = next((i for i, t in enumerate(tactics, 1) if _same(t, human)), None)
                    closer_rank = next((i for i, s in enumerate(shown, 1) if s.finished or s.closes_goal), None)
                    rows.append({"theorem": traced.full_name, "file": traced.file_path, "human": human,
                                 "human_rank": human_rank, "closer_rank": closer_rank, "shown": tactics,
                                 "sources": [s.source for s in shown], "time_s": round(time.perf_counter() - started, 3)})
                if not engine.run_tactic(human, source="file").ok:
                    break
            for row in rows:
                out.write(json.dumps(row) + "\n")
            out.flush()
            print(f"[{number}/{len(sample)}] {traced.full_name}: {len(rows)} steps", file=sys.stderr)
    return report(args.out, args.show)


def report(path: Path, show: int) -> int:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        print("no steps measured")
        return 1
    n = len(rows)
    human_top = sum(r["human_rank"] is not None for r in rows)
    human_top1 = sum(r["human_rank"] == 1 for r in rows)
    hit = sum(r["human_rank"] is not None or r["closer_rank"] is not None for r in rows)
    by_source: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["human_rank"] is not None:
            by_source[r["sources"][r["human_rank"] - 1]] += 1
    theorems = len({r["theorem"] for r in rows})
    print(f"{n} steps of {theorems} held-out stdlib theorems (random/test)")
    print(f"top-{show}: the human's tactic or a goal-closing suggestion: {hit}/{n} = {100 * hit / n:.1f}%")
    print(f"top-{show}: the human's tactic: {human_top}/{n} = {100 * human_top / n:.1f}%")
    print(f"top-1: the human's tactic: {human_top1}/{n} = {100 * human_top1 / n:.1f}% "
          f"(Tactician, published: {100 * TACTICIAN_TOP1:.1f}%)")
    print("the human's tactic came from: " + ", ".join(f"{k} {v}" for k, v in sorted(by_source.items(), key=lambda x: -x[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
