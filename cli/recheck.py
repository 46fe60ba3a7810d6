"""`proofsmith recheck PATH`: every proof an eval run, iterate round, mutant corpus or check output holds,
re-checked by plain `coqc` (eval.recheck), independently of the checker's sessions.

Prints one line per failure with its reason, then a summary (re-checked,
passed, failed; per kind; the assumptions seen); exit 1 if anything fails,
2 on a bad PATH or option.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

from proofsmith.cli import shared_options
from proofsmith.cli.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("recheck", help="re-check proofs with plain coqc, outside every proofsmith session",
                       description="Re-check every proof of PATH with plain coqc, outside every proofsmith session.")
    p.add_argument("path", type=Path, help="an eval run folder, an iterate round (runs/NAME/round-R), a mutant corpus "
                                           "(.jsonl) or a `proofsmith check --out` file (with --input)")
    p.add_argument("--jobs", type=int, default=2, help="coqc processes at once (default 2)")
    p.add_argument("--timeout-s", type=float, default=600.0, help="seconds per coqc compile (default 600)")
    p.add_argument("--input", type=Path, default=None, help="for a check output: the JSONL file `proofsmith check` judged")
    p.add_argument("--project", default=None,
                   help="for a check output whose input names theorems by file: the --project it was given")
    p.add_argument("--sample", type=int, default=None, help="for a mutant corpus: re-check this many, drawn with --seed")
    shared_options.add_seed(p, help="the draw of --sample (default 0)")
    p.add_argument("--verbose", action="store_true", help="also print a line for every proof that passes")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from tqdm import tqdm

    from proofsmith.eval.recheck import recheck_all
    from proofsmith.eval.recheck_inputs import RecheckInputError, recheck_items

    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.timeout_s <= 0:
        raise UsageError(f"--timeout-s must be positive, got {args.timeout_s:g}")
    if args.sample is not None and args.sample < 1:
        raise UsageError(f"--sample must be at least 1, got {args.sample}")
    if shutil.which("coqc") is None:
        raise UsageError("coqc is not on PATH: the re-check compiles every proof with plain coqc (make setup installs Coq)")
    try:
        what, items = recheck_items(args.path, checked=args.input, project=args.project, sample=args.sample,
                                    seed=args.seed)
    except RecheckInputError as exc:
        raise UsageError(str(exc)) from None
    started = time.monotonic()
    total: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    assumptions: Counter[str] = Counter()
    hypotheses: Counter[str] = Counter()
    # what runs with --decision-procedures loaded before the proofs (replayed, each judged by coqc itself)
    loads = Counter(m for item in items for m in getattr(item.problem, "loads", ()))
    bar = tqdm(total=len(items), desc="recheck", unit="proof", dynamic_ncols=True, disable=args.no_progress)
    try:
        # interrupted: nothing more starts (the CLI's signal handler has killed the running coqc)
        with closing(recheck_all(items, args.jobs, args.timeout_s)) as verdicts:
            for item, verdict in verdicts:
                total[item.kind] += 1
                passed[item.kind] += verdict.ok
                assumptions.update(verdict.axioms)
                hypotheses.update(verdict.hypotheses)
                if not verdict.ok:
                    bar.write(f"FAILED {item.kind} {item.name}: {' '.join(verdict.reason.split())}")
                elif args.verbose:
                    bar.write(f"ok {item.kind} {item.name}: {verdict.reason}")
                bar.update(1)
                bar.set_postfix_str(f"failed {sum(total.values()) - sum(passed.values())}")
    finally:
        bar.close()
    n, ok = sum(total.values()), sum(passed.values())
    print(f"proofsmith recheck {args.path} ({what}): {n} re-checked by plain coqc, {ok} passed, {n - ok} failed "
          f"({time.monotonic() - started:.1f} s, {args.jobs} jobs)")
    if len(total) > 1:
        for kind in sorted(total):
            print(f"  {kind}: {passed[kind]}/{total[kind]} passed")
    if loads:
        print("loaded before the proof (decision procedures):", ", ".join(f"{m} ({k})" for m, k in loads.most_common()))
    if assumptions:
        print("axioms:", ", ".join(f"{a} ({k})" for a, k in assumptions.most_common()))
    if hypotheses:
        print(f"hypotheses (section variables, functor parameters): {sum(hypotheses.values())} uses of "
              f"{len(hypotheses)}")
    return 1 if n - ok else 0
