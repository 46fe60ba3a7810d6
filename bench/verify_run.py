"""Re-verify every proof a `proofsmith eval` run reports as proved, with plain `coqc`.

    .venv/bin/python bench/verify_run.py runs/NAME [--jobs 2]

Independent of the checker's sessions: for each proved result it compiles
one file, tactic prelude + header + statement + "Proof." + proof + "Qed." +
"Print Assumptions NAME.", with coqc, then resolves every axiom listed to its
fully qualified name (Locate) and accepts only axioms of Coq's standard
library (Coq.*) or ones the problem's own header declares. Prints one line
per proof and a total; exits 1 if any proof fails.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from proofsmith.checker.coq.guard import GuardRejection, parse_statement
from proofsmith.eval.benchmarks import load_benchmark
from proofsmith.eval.results import read_results

HEADER_AXIOMS = re.compile(
    r"\b(?:Axiom|Axioms|Parameter|Parameters|Conjecture|Hypothesis|Hypotheses|Variable|Variables)\s+([^:.]+):"
)
FILE_MODULE = "ProofsmithVerify"


def coqc(text: str, timeout_s: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="proofsmith-verify-") as tmp:
        # in its own directory: coqc writes .vo/.glob files and lia writes a cache there
        (Path(tmp) / f"{FILE_MODULE}.v").write_text(text)
        return subprocess.run(
            ["coqc", "-q", f"{FILE_MODULE}.v"], cwd=tmp, capture_output=True, text=True, timeout=timeout_s
        )


def parse_assumptions(output: str) -> list[str] | None:
    """Short names from `Print Assumptions` output ([] when closed); None if it is not there."""
    if "Closed under the global context" in output:
        return []
    if "Axioms:" not in output:
        return None
    body = output.split("Axioms:", 1)[1]
    # each axiom starts at column 0 ("name : type" or "name" then an indented type)
    return [line.split(" :", 1)[0].strip() for line in body.splitlines() if line and not line[0].isspace()]


def located_names(output: str) -> list[str]:
    """The name each `Locate` resolved to, in order.

    Locate lists the object the name refers to first, then other objects with
    the same base name, each followed by "(shorter name to refer to it ...)";
    the entries without that note are the resolved ones.
    """
    lines = output.splitlines()
    names = []
    for i, line in enumerate(lines):
        if not line or line[0].isspace():
            continue
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if following.strip().startswith("(shorter name"):
            continue
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("Constant", "Inductive", "Constructor"):
            names.append(parts[1])
    return names


def verify(prelude: str, header: str, statement: str, proof: str, timeout_s: float = 300.0) -> tuple[bool, str]:
    try:
        name = parse_statement(statement).name
    except GuardRejection:
        return False, "cannot find the declared theorem name"
    body = proof.strip()
    if not body.startswith("Proof"):
        body = f"Proof.\n{body}\nQed."
    text = f"{prelude}\n{header}{statement}\n{body}\nPrint Assumptions {name}.\n"
    done = coqc(text, timeout_s)
    if done.returncode != 0:
        return False, "coqc rejected it: " + " ".join((done.stderr or done.stdout).split())[:300]
    axioms = parse_assumptions(done.stdout)
    if axioms is None:
        return False, "no Print Assumptions output"
    if not axioms:
        return True, "closed under the global context"
    declared = {n for group in HEADER_AXIOMS.findall(header) for n in group.split()}
    locate = coqc(f"{prelude}\n{header}\n" + "".join(f"Locate {a}.\n" for a in axioms), timeout_s)
    qualified = located_names(locate.stdout)
    if locate.returncode != 0 or len(qualified) < len(axioms):
        return False, f"cannot resolve axioms {axioms}: {locate.stdout[:200]}"
    bad = [q for a, q in zip(axioms, qualified) if not q.startswith("Coq.") and a not in declared]
    if bad:
        return False, "depends on axioms outside Coq's standard library: " + ", ".join(bad)
    return True, "axioms: " + ", ".join(qualified)


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
        prelude = record["checker"]["prelude"]
        ok, note = verify(prelude, theorem.header, theorem.statement, record["proof"])
        return record["name"], ok, note

    failures = 0
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for name, ok, note in pool.map(one, proved):
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {note}", flush=True)
    print(f"coqc verified {len(proved) - failures}/{len(proved)} proved results of {args.run_dir}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
