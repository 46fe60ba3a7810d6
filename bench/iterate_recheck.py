"""Re-check a round of `proofsmith iterate` with plain `coqc`: every proof it found and every kept conjecture.

    .venv/bin/python bench/iterate_recheck.py runs/NAME/round-R [--jobs 2]

No session and no proofsmith checking code judges anything here; each item is
its own `.v` file compiled by `coqc` (bench/coqc_recheck.py, as bench/verify_run.py):
a statement with a header (mutants, conjectures) under the checker's tactic
prelude, a library theorem in its own file context, compiled as that file's module.

An item passes when coqc accepts the file, the proof admits nothing and every
axiom Print Assumptions lists is Coq's standard library's or its header's.
Printed: passes per kind, every failure with coqc's message, the axioms seen.
Exit status 1 if anything fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from coqc_recheck import recheck  # noqa: E402

from proofsmith.formats.json_files import read_jsonl  # noqa: E402
from proofsmith.checker.settings import CheckerSettings  # noqa: E402



def _lines(path: Path) -> list[dict]:
    return [r for _, r in read_jsonl(path, missing_ok=True)]


def items(round_dir: Path) -> list[dict]:
    """What a round's output holds to re-check: (kind, name, how to build the file)."""
    out = []
    conjectures = {c["name"]: c for c in _lines(round_dir / "conjectures.jsonl")}
    mutants: dict[str, dict] = {}
    manifest = round_dir / "manifest.json"
    mutants_path = None
    if manifest.is_file():
        m = json.loads(manifest.read_text())
        mutants_path = (m.get("inputs", {}).get("mutants") or {}).get("path")
    for file, kind in (("pool.jsonl", "dataset"), ("conjecture_results.jsonl", "conjecture")):
        for r in _lines(round_dir / file):
            if r.get("verdict") != "proved" or not r.get("proof"):
                continue
            item = {"kind": f"proof of a {kind} statement", "name": r["name"], "proof": r["proof"]}
            if r.get("place"):
                item["place"] = r["place"]
            elif r["name"] in conjectures:
                c = conjectures[r["name"]]
                item.update(header=c["header"], statement=c["statement"])
            else:
                item["mutant"] = True
            out.append(item)
    if any(i.get("mutant") for i in out):
        if mutants_path is None or not Path(mutants_path).is_file():
            raise SystemExit(f"{round_dir}: proofs of mutants, but no mutant corpus in manifest.json")
        wanted = {i["name"] for i in out if i.get("mutant")}
        for _, r in read_jsonl(Path(mutants_path)):
            if r["name"] in wanted:
                mutants[r["name"]] = r
        for i in out:
            if i.get("mutant"):
                r = mutants[i["name"]]
                i.update(header=r["header"], statement=r["statement"])
    for k in _lines(round_dir / "kept_conjectures.jsonl"):
        out.append({"kind": "kept conjecture", "name": k["name"], "proof": k["proof"], "header": k["header"],
                    "statement": k["statement"]})
    return out


def recheck_item(item: dict) -> tuple[bool, str, list[str]]:
    if "place" in item:
        done = recheck(item["name"], item["proof"], place=item["place"])
    else:
        done = recheck(item["name"], item["proof"], prelude=CheckerSettings().coq_prelude, header=item["header"],
                       statement=item["statement"])
    return done.ok, done.note, done.axioms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("round_dir", type=Path, help="runs/NAME/round-R")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    todo = items(args.round_dir)
    passed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    axioms: Counter[str] = Counter()
    failures = []
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for item, (ok, why, found) in zip(todo, pool.map(recheck_item, todo)):
            total[item["kind"]] += 1
            axioms.update(found)
            if ok:
                passed[item["kind"]] += 1
            else:
                failures.append((item["kind"], item["name"], why))
    print(f"{sum(passed.values())}/{len(todo)} re-checked by plain coqc in {args.round_dir}")
    for kind in sorted(total):
        print(f"  {kind}: {passed[kind]}/{total[kind]}")
    for kind, name, why in failures:
        print(f"FAILED {kind} {name}: {' '.join(why.split())}")
    if axioms:
        print("assumptions printed:", ", ".join(f"{a} ({n})" for a, n in axioms.most_common()))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
