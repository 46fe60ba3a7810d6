"""Re-verify every proof a `proofsmith eval` run reports as proved, with plain `coqc`.

    .venv/bin/python bench/verify_run.py runs/NAME [--jobs 2]

Independent of the checker's sessions (bench/coqc_recheck.py): each proved
result is one file compiled by coqc, tactic prelude + header + statement +
proof + `Print Assumptions`, or for a library theorem (`coq-library`) its own
file up to the statement + proof, compiled as that file's module; every axiom
listed must resolve (Locate) to Coq's standard library or the problem's own
header. Prints one line per proof and a total; exits 1 if any proof fails.
A hammer proof re-checks as its reconstruction tactic: no ATP is called (run
it with the ATPs off PATH to see so).
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from coqc_recheck import recheck  # noqa: E402

from proofsmith.checker.coq.guard import GuardRejection, parse_statement  # noqa: E402
from proofsmith.eval.benchmarks import load_benchmark  # noqa: E402
from proofsmith.formats.run_records import read_results  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    run = json.loads((args.run_dir / "run.json").read_text())
    bench = load_benchmark(run["benchmark"], run["split"], run["data"])
    problems = {p.name: p for p in bench.problems}
    proved = [r for r in read_results(args.run_dir / "results.jsonl") if r["verdict"] == "proved"]

    def one(record: dict) -> tuple[str, bool, str]:
        theorem = problems[record["name"]].theorem
        if record.get("place"):
            done = recheck(record["name"], record["proof"], place=record["place"])
        else:
            try:
                name = parse_statement(theorem.statement).name
            except GuardRejection:
                return record["name"], False, "cannot find the declared theorem name"
            done = recheck(name, record["proof"], prelude=record["checker"]["prelude"], header=theorem.header,
                           statement=theorem.statement)
        return record["name"], done.ok, done.note

    failures = 0
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for name, ok, note in pool.map(one, proved):
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {note}", flush=True)
    print(f"coqc verified {len(proved) - failures}/{len(proved)} proved results of {args.run_dir}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
