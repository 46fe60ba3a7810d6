"""`proofsmith check`: judge a JSONL file of proofs.

Input lines: {"name", "header", "statement", "proof"}. Output lines, in input
order: {"name", "verdict", "reason", "axioms", "time_s"}. Exit 0 when every
line was judged, whatever the verdicts; exit 2 naming the line on malformed input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from eval.cli.errors import UsageError

FIELDS = ("name", "header", "statement", "proof")


def register(sub) -> None:
    p = sub.add_parser("check", help="check whole proofs from a JSONL file")
    p.add_argument("input", type=Path, help="JSONL: one {name, header, statement, proof} per line")
    p.add_argument("--backend", default="coq")
    p.add_argument("--timeout", type=float, default=None, help="seconds per proof")
    p.add_argument("--workers", type=int, default=None, help="checker processes (default: cores)")
    p.add_argument("--out", type=Path, default=None, help="output JSONL (default: stdout)")
    p.set_defaults(func=run)


def read_tasks(path: Path, backend: str):
    from checker.types import ProofTask, Theorem

    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    tasks = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise UsageError(f"{where}: expected a JSON object")
            missing = [k for k in FIELDS if k not in record]
            if missing:
                raise UsageError(f"{where}: missing field(s) {', '.join(missing)}")
            wrong = [k for k in FIELDS if not isinstance(record[k], str)]
            if wrong:
                raise UsageError(f"{where}: field(s) {', '.join(wrong)} must be strings")
            theorem = Theorem(record["name"], record["statement"], record["header"], backend=backend)
            tasks.append(ProofTask(theorem, record["proof"]))
    return tasks


def run(args) -> int:
    from tqdm import tqdm

    from checker.registry import open_checker
    from checker.settings import CheckerSettings

    tasks = read_tasks(args.input, args.backend)
    overrides = {}
    if args.timeout is not None:
        overrides["timeout_s"] = args.timeout
    if args.workers is not None:
        overrides["workers"] = args.workers
    try:
        settings = CheckerSettings(**overrides)
        checker = open_checker(args.backend, settings)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out = args.out.open("w", encoding="utf-8") if args.out else sys.stdout
    pending: dict[int, dict] = {}
    next_index = 0
    bar = tqdm(total=len(tasks), unit="proof", desc="check", file=sys.stderr, disable=None)

    def emit(index: int, result) -> None:
        nonlocal next_index
        pending[index] = result.to_record(tasks[index].theorem.name)
        bar.update(1)
        while next_index in pending:
            out.write(json.dumps(pending.pop(next_index)) + "\n")
            next_index += 1
        out.flush()

    try:
        with checker:
            checker.check_batch(tasks, on_result=emit)
    finally:
        bar.close()
        if args.out:
            out.close()
    return 0
