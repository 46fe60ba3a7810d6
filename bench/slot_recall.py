"""How often the premise slots' ranking holds the premise a human proof step used.

Premise slots (prover.premise_slots) fill a remembered tactic's premise argument
with the accessible premises whose statements rank nearest the goal. A proof
that needs a premise no training proof used is within reach of the slots only
when that premise ranks within the slots' width (the generator's
`premises`, 8 by default) for the goal where it is needed. This script asks the ranking the
prover uses, `PremiseStatements.rank`, at every traced step of a split's test
theorems that names a fillable premise (a theorem, lemma or constructor: what
a slot can take), with the slot kind the step's tactic has (`rewrite` steps
rank equations only), and prints recall at 1, the slots' width, 10 and 50 and the MRR:

- over every such step (comparable with `proofsmith eval-retrieval`'s rows,
  which ask the same goals but count every premise kind);
- over the steps whose premise no proof of the split's train subset used:
  the premises the plain memory cannot propose, which the novel_premises
  split is built around;
- per theorem: in how many theorems every such step's premise ranks within
  the slots' width (the slots' reach, were the rest of the proof found);
- per such step, whether the human step itself (spacing aside) is among the
  candidates the premise-slot generator proposes for its goal (the templates
  the train memory votes for, filled): the premise may rank well while no
  remembered tactic has the shape that uses it (and how many of those steps
  are a bare `apply P.`, `rewrite P.` or `exact P.`, which any template fits).

    python bench/slot_recall.py --data .cache/trace/stdlib [--split novel_premises] [--subset test]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from proofsmith.checker.types import Theorem  # noqa: E402
from proofsmith.formats.leandojo import PARTS, STRATEGIES  # noqa: E402
from proofsmith.prover.generators.base import TacticRequest  # noqa: E402
from proofsmith.prover.generators.premise_slots import DEFAULT_PREMISES, PremiseSlotGenerator  # noqa: E402
from proofsmith.prover.generators.tactic_memory import TacticMemoryGenerator  # noqa: E402
from proofsmith.prover.premise_slots import APPLY, FILLABLE_KINDS, REWRITE, PremiseStatements, premise_slots  # noqa: E402
from proofsmith.prover.registry import PREMISE_SLOT_TACTICS  # noqa: E402
from proofsmith.prover.tactic_memory import open_memory, state_key  # noqa: E402
from proofsmith.retrieval.benchmark import Benchmark  # noqa: E402

KS = tuple(sorted({1, DEFAULT_PREMISES, 10, 50}))
# A step that is one premise applied or rewritten with, nothing more: the shape any template of its kind fits.
BARE_STEP = re.compile(r"(?:rewrite(?:\s*<-)?|erewrite|apply|eapply|exact)\s+[\w'.]+\s*\.")


def slot_kind(tactic: str) -> str:
    """The kind of slot the prover would see in this step: a rewrite's ranks equations only."""
    kinds = {slot.kind for slot in premise_slots(tactic)}
    return REWRITE if kinds == {REWRITE} else APPLY


def _same_step(step: str, texts: set[str]) -> bool:
    """Whether a candidate is `step`, names compared without their qualifiers (the candidate names a
    premise in full, the human step as its file does)."""
    return _unqualified(step) in {_unqualified(t) for t in texts}


def _unqualified(tactic: str) -> str:
    return re.sub(r"[A-Za-z_][\w']*\.(?=[A-Za-z_])", "", tactic)


def summary(ranks: list[int | None]) -> dict[str, float | int]:
    """Recall at each k (a step counts when one of its premises ranks within k) and MRR."""
    n = len(ranks)
    out: dict[str, float | int] = {"steps": n}
    for k in KS:
        out[f"R@{k}"] = 100 * sum(1 for r in ranks if r is not None and r <= k) / n if n else float("nan")
    out["MRR"] = sum(1 / r for r in ranks if r is not None) / n if n else float("nan")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT / ".cache/trace/stdlib", help="a `proofsmith trace` folder")
    p.add_argument("--split", default="novel_premises", choices=STRATEGIES)
    p.add_argument("--subset", default="test", choices=PARTS)
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = p.parse_args()
    if not (args.data / "corpus.jsonl").is_file():
        raise SystemExit(
            f"--data {args.data}: no corpus.jsonl (run `proofsmith trace --library stdlib --out {args.data}`)"
        )

    bench = Benchmark(args.data)
    started = time.perf_counter()
    memory = open_memory(args.data, args.split)
    statements = PremiseStatements.of_trace(args.data, memory.encoder)
    built_s = time.perf_counter() - started
    # offline: the memory holds the train proofs only, as when the search starts on a theorem
    slot_generator = PremiseSlotGenerator(TacticMemoryGenerator(memory, online=False), statements)
    fillable = np.array([pr.kind in FILLABLE_KINDS and not pr.admitted for pr in bench.corpus.premises])
    seen = set().union(*(q.positives for q in bench.queries(args.split, "train")))
    tactics = {
        (t.full_name, i): tac.tactic
        for t in bench.theorems(args.split, args.subset)
        for i, tac in enumerate(t.traced_tactics)
    }

    every: list[int | None] = []
    unseen: list[int | None] = []
    by_kind: dict[str, list[int | None]] = {REWRITE: [], APPLY: []}
    reach: dict[str, list[bool]] = {}  # per theorem: each unseen-premise step within the slots' width?
    proposed: list[bool] = []  # per unseen-premise step: the human step among the slot candidates?
    bare = 0  # unseen-premise steps that are a bare apply/rewrite/exact of one premise
    # per unseen-premise step: is the single step its unseen premise's slot comes down to proposed,
    # by the generator as the prover runs it and with single_steps?
    split_generator = PremiseSlotGenerator(TacticMemoryGenerator(memory, online=False), statements, single_steps=True)
    part_proposed: dict[str, list[bool]] = {"templates": [], "single steps": []}
    queries = [q for q in bench.queries(args.split, args.subset) if any(fillable[i] for i in q.positives)]
    started = time.perf_counter()
    for q in tqdm(queries, unit="step", desc=f"{args.split}/{args.subset}", mininterval=5):
        wanted = {i for i in q.positives if fillable[i]}
        tactic = tactics[(q.theorem, q.tactic_index)]
        kind = slot_kind(tactic)
        theorem = Theorem(q.theorem, "")
        ranked = statements.rank(state_key(q.state), theorem, kind, max(KS))
        rank = next((r for r, (premise, _) in enumerate(ranked, 1) if premise.id in wanted), None)
        every.append(rank)
        by_kind[kind].append(rank)
        if wanted - seen:
            # the step's unseen premises are the ones that matter here
            rank = next((r for r, (premise, _) in enumerate(ranked, 1) if premise.id in wanted - seen), None)
            unseen.append(rank)
            reach.setdefault(q.theorem, []).append(rank is not None and rank <= DEFAULT_PREMISES)
            slot_generator.start(theorem)
            candidates = slot_generator.propose(TacticRequest([q.state], PREMISE_SLOT_TACTICS))[0]
            human = " ".join(tactic.split())
            proposed.append(any(" ".join(c.tactic.split()) == human for c in candidates))
            bare += bool(BARE_STEP.fullmatch(human))
            unseen_names = {bench.corpus.premises[i].full_name for i in wanted - seen}
            parts = {step for slot in premise_slots(tactic) if any(n == slot.name or n.endswith("." + slot.name)
                                                                  for n in unseen_names)
                     for step, _ in [slot.single_step(tactic) or ("", None)] if step}
            split_generator.start(theorem)
            split = split_generator.propose(TacticRequest([q.state], PREMISE_SLOT_TACTICS))[0]
            for name, found in (("templates", candidates), ("single steps", split)):
                texts = {" ".join(c.tactic.split()) for c in found}
                part_proposed[name].append(human in texts or any(_same_step(part, texts) for part in parts))
    query_s = time.perf_counter() - started

    rows: dict[str, dict[str, float | int]] = {
        "every step naming a fillable premise": summary(every),
        "  of which rewrite slots": summary(by_kind[REWRITE]),
        "  of which apply/term slots": summary(by_kind[APPLY]),
        "steps naming a premise no train proof used": summary(unseen),
    }
    print(
        f"\n{args.split}/{args.subset}: {len(bench.corpus):,} premises, {len(seen):,} used by train proofs; "
        f"statements ready in {built_s:.1f} s, {len(queries):,} queries in {query_s:.1f} s "
        f"({1000 * query_s / max(1, len(queries)):.2f} ms each)\n"
    )
    print("| steps | n | " + " | ".join(f"R@{k}" for k in KS) + " | MRR |")
    print("|---|---:|" + "---:|" * (len(KS) + 1))
    for name, row in rows.items():
        print(
            f"| {name} | {row['steps']:,} | "
            + " | ".join(f"{row[f'R@{k}']:.1f}" for k in KS)
            + f" | {row['MRR']:.3f} |"
        )
    within = sum(all(steps) for steps in reach.values())
    print(
        f"\n{len(reach):,} theorems have a step naming a premise no train proof used; in {within:,} "
        f"({100 * within / max(1, len(reach)):.1f}%) every such step ranks it within the slots' width "
        f"({DEFAULT_PREMISES}), the slots' reach if the rest of the proof is found"
    )
    print(
        f"the human step itself is among the premise-slot generator's {PREMISE_SLOT_TACTICS} candidates for "
        f"{sum(proposed):,} of the {len(proposed):,} steps naming an unseen premise "
        f"({100 * sum(proposed) / max(1, len(proposed)):.1f}%)"
    )
    print(f"{bare:,} of those steps are a bare `apply P.`, `rewrite [<-] P.` or `exact P.`; the others are compound")
    for name, found in part_proposed.items():
        print(f"the step or its unseen premise's single step (`rewrite X.` of `now rewrite A, X.`) is among the "
              f"candidates with {name}: {sum(found):,} of {len(found):,} ({100 * sum(found) / max(1, len(found)):.1f}%)")
    rows["single step proposed"] = {name: sum(found) for name, found in part_proposed.items()}
    rows["theorems within the slots' reach"] = {"theorems": len(reach), "within": within}
    rows["unseen-premise steps proposed as they are"] = {"steps": len(proposed), "proposed": sum(proposed), "bare": bare}
    if args.out:
        args.out.write_text(json.dumps({"split": args.split, "subset": args.subset, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
