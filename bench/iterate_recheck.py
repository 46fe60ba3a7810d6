"""Re-check a round of `proofsmith iterate` with plain `coqc`: every proof it found and every kept conjecture.

    .venv/bin/python bench/iterate_recheck.py runs/NAME/round-R [--jobs 2]

No session and no proofsmith checking code judges anything here; each item is
its own `.v` file compiled by `coqc`:

- a statement with a header (mutants, conjectures): the checker's tactic
  prelude + header + statement + `Proof.` proof `Qed.` + `Print Assumptions`;
- a library theorem in its file context: the file's own text up to the
  statement (read from the installed stdlib or the project), the statement,
  the proof, `Print Assumptions`, then `End` for every section and module
  still open, compiled as that file's module (`-top`, `-noinit` for Init).

An item passes when coqc accepts the file and the proof has no `admit`.
Printed: passes per kind, every failure with coqc's message, the axioms seen
(Print Assumptions' `Axioms:` part). Exit status 1 if anything fails.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proofsmith.checker.json_files import read_jsonl  # noqa: E402

_ADMIT = re.compile(r"\b(admit|Admitted|give_up)\b")


def _lines(path: Path) -> list[dict]:
    return [r for _, r in read_jsonl(path, missing_ok=True)]


def _prelude() -> str:
    from proofsmith.checker.settings import CheckerSettings

    return CheckerSettings().coq_prelude


def header_source(name: str, header: str, statement: str, proof: str) -> str:
    return f"{_prelude()}\n{header}\n{statement}\nProof.\n{proof}\nQed.\nPrint Assumptions {name}.\n"


def in_context_source(place: dict, name: str, proof: str) -> tuple[str, list[str], str]:
    """(source, coqc arguments, file stem) of a library theorem proved where it stands."""
    from proofsmith.checker.coq.file_context import _END, _SECTION_OPEN, _opened_module, file_script
    from proofsmith.checker.coq.sentences import strip_comments
    from proofsmith.checker.types import Place

    script = file_script(Place(place["project"], place["file"], place.get("line")))
    decl = script.find(name, place.get("line"))
    text = script.file.source.read_text(encoding="utf-8")
    statement = script.sentences[decl.index]
    stack: list[str] = []
    for sentence in script.sentences[: decl.index]:
        body = strip_comments(sentence.text).strip()
        opened = _opened_module(body) or _SECTION_OPEN.match(body)
        if opened:  # (`Module M := N.` defines a module and opens none: _opened_module says so)
            stack.append(opened.group(1))
            continue
        end = _END.match(body)
        if end and stack and stack[-1] == end.group(1):
            stack.pop()
    short = decl.name.rsplit(".", 1)[-1]
    source = (text[: statement.start] + statement.text + f"\nProof.\n{proof}\nQed.\nPrint Assumptions {short}.\n"
              + "".join(f"End {m}.\n" for m in reversed(stack)))
    stem = script.file.module.rsplit(".", 1)[-1]
    return source, script.file.coq_args, stem


def coqc(source: str, args: list[str], stem: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{re.sub(r'[^A-Za-z0-9_]', '_', stem)}.v"
        path.write_text(source, encoding="utf-8")
        return subprocess.run(["coqc", "-q", *args, path.name], cwd=tmp, capture_output=True, text=True, timeout=600)


def axioms_of(output: str) -> list[str]:
    if "Axioms:" not in output:
        return []
    return re.findall(r"^([^\s:]\S*)", output.split("Axioms:", 1)[-1], re.MULTILINE)


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


def recheck(item: dict) -> tuple[bool, str, list[str]]:
    if _ADMIT.search(item["proof"]):
        return False, "the proof admits", []
    if "place" in item:
        source, args, stem = in_context_source(item["place"], item["name"], item["proof"])
    else:
        source, args, stem = header_source(item["name"], item["header"], item["statement"], item["proof"]), [], item["name"]
    done = coqc(source, args, stem)
    if done.returncode != 0:
        return False, (done.stdout + done.stderr).strip()[-400:], []
    return True, "", axioms_of(done.stdout)


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
        for item, (ok, why, found) in zip(todo, pool.map(recheck, todo)):
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
