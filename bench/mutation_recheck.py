"""Re-check a sample of a mutant corpus with plain `coqc`, independently of the checker layer.

    .venv/bin/python bench/mutation_recheck.py .cache/mutants/stdlib.jsonl [--sample 100] [--seed 0]

Each sampled mutant becomes its own file: the checker's tactic prelude (as
recorded with the mutant) + header + statement + `Proof.` + proof + `Qed.` +
`Print Assumptions`, compiled by `coqc` (no session, no proofsmith checking code). It
passes if coqc accepts it, every assumption it prints is located (`Locate`)
in Coq's own library, and its statement differs from its parent's.
Prints the pass count, the failures, and the axioms seen.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from proofsmith.checker.json_files import InputFileError, read_jsonl


def body(statement: str) -> str:
    return " ".join(statement.split(":", 1)[1].strip().rstrip(".").split())


def recheck(record: dict, workdir: Path) -> tuple[bool, str, list[str]]:
    """Compile one mutant with coqc; (passed, why not, the axioms it depends on, fully qualified)."""
    name = record["name"]
    if body(record["statement"]) == body(record["parent_statement"]):
        return False, "same statement as its parent", []
    # What the checker verified: its tactic prelude (recorded with the mutant), the header, the statement, the proof.
    prelude = record.get("checker", {}).get("prelude", "")
    source = (
        f"{prelude}\n{record['header']}\n{record['statement']}\nProof.\n{record['proof']}\nQed.\n"
        f"Print Assumptions {name}.\n"
    )
    done = _coqc(workdir, name, source)
    if done.returncode != 0:
        return False, (done.stdout + done.stderr).strip()[-300:], []
    out = done.stdout
    if "Closed under the global context" in out:
        return True, "", []
    if any(k in out for k in ("Section Variables:", "Type hierarchy", "guarded", "positivity")):
        return False, f"Print Assumptions: {out.strip()[-300:]}", []
    # Coq prints each axiom's short name at the start of a line, its type indented below.
    short = re.findall(r"^([^\s:]\S*)", out.split("Axioms:", 1)[-1], re.MULTILINE) if "Axioms:" in out else []
    if not short:
        return False, f"Print Assumptions: {out.strip()[-300:]}", []
    located = _coqc(workdir, name, source + "".join(f"Locate {a}.\n" for a in short))
    axioms = re.findall(r"^Constant (\S+)", located.stdout, re.MULTILINE)
    foreign = [a for a in axioms if not a.startswith("Coq.")]
    if len(axioms) != len(short) or foreign:
        return False, f"axioms outside Coq's library: {foreign or short}", axioms
    return True, "", axioms


def _coqc(workdir: Path, name: str, source: str) -> subprocess.CompletedProcess:
    path = workdir / f"{name}.v"
    path.write_text(source, encoding="utf-8")
    return subprocess.run(["coqc", "-q", path.name], cwd=workdir, capture_output=True, text=True, timeout=300)


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
    with tempfile.TemporaryDirectory() as tmp:
        for r in sample:
            ok, why, found = recheck(r, Path(tmp))
            axioms.update(found)
            rules[r["rule"]] += 1
            if not ok:
                failures.append((r["name"], why))
    print(f"{len(sample) - len(failures)}/{len(sample)} sampled mutants re-checked by plain coqc "
          f"(rules: {dict(rules)}; corpus of {len(records)})")
    for name, why in failures:
        print(f"FAILED {name}: {why}")
    if axioms:
        print("axioms:", ", ".join(f"{a} ({n})" for a, n in axioms.most_common()))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
