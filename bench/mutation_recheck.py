"""Re-check a sample of a mutant corpus with plain `coqc`, independently of the checker layer.

    .venv/bin/python bench/mutation_recheck.py .cache/mutants/stdlib.jsonl [--sample 100] [--seed 0]

Each sampled mutant becomes its own file: the checker's tactic prelude (as
recorded with the mutant) + header + statement + `Proof.` + proof + `Qed.` +
`Print Assumptions`, compiled by `coqc` (no session, no proofsmith checking code:
bench/coqc_recheck.py). It passes if coqc accepts it, it admits nothing, every
axiom it prints is located (`Locate`) in Coq's own library (one its header
declares does not count), and its statement differs from its parent's.
Prints the pass count, the failures, and the axioms seen.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from coqc_recheck import Recheck, recheck  # noqa: E402

from proofsmith.formats.json_files import InputFileError, read_jsonl  # noqa: E402


def body(statement: str) -> str:
    return " ".join(statement.split(":", 1)[1].strip().rstrip(".").split())


def recheck_mutant(record: dict) -> Recheck:
    """One mutant through plain coqc (coqc_recheck), after checking that it changed its parent's statement."""
    if body(record["statement"]) == body(record["parent_statement"]):
        return Recheck(False, "same statement as its parent")
    # What the checker verified: its tactic prelude (recorded with the mutant), the header, the statement, the proof.
    return recheck(record["name"], record["proof"], prelude=record.get("checker", {}).get("prelude", ""),
                   header=record["header"], statement=record["statement"], timeout_s=300, header_axioms=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    try:
        records = [record for _, record in read_jsonl(args.corpus)]
    except InputFileError as exc:
        sys.exit(str(exc))
    sample = random.Random(args.seed).sample(records, min(args.sample, len(records)))
    failures, axioms, rules = [], Counter(), Counter()
    for r in sample:
        done = recheck_mutant(r)
        axioms.update(done.axioms)
        rules[r["rule"]] += 1
        if not done.ok:
            failures.append((r["name"], done.note))
    print(f"{len(sample) - len(failures)}/{len(sample)} sampled mutants re-checked by plain coqc "
          f"(rules: {dict(rules)}; corpus of {len(records)})")
    for name, why in failures:
        print(f"FAILED {name}: {why}")
    if axioms:
        print("axioms:", ", ".join(f"{a} ({n})" for a, n in axioms.most_common()))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
