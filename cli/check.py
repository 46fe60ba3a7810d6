"""`proofsmith check`: judge a JSONL file of proofs.

Input lines: {"name", "header", "statement", "proof"}, and optionally
"load_path" (Coq flags such as ["-R", "/abs/dir", "Lib"], as mutant records
carry them; -Q/-R/--project add to it). Output lines, in input
order: {"name", "verdict", "reason", "axioms", "time_s"}. With --out, lines
are appended as they are judged (in input order) and a rerun with the same
input and --out resumes after the last line written. Exit 0 when every
line was judged, whatever the verdicts; exit 2 with one line naming the file
(and line and column) on bad input: missing, not UTF-8, not JSON, a field
missing or not a string, or no proofs at all (an empty file is refused rather
than judged as "nothing to do"), and on a bad option such as --workers 0.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from proofsmith.checker.json_files import JsonlAppender
from proofsmith.cli import load_path_options
from proofsmith.cli.errors import UsageError, checker_settings

FIELDS = ("name", "header", "statement", "proof")


def register(sub) -> None:
    p = sub.add_parser("check", help="check whole proofs from a JSONL file")
    p.add_argument("input", type=Path, help="JSONL: one {name, header, statement, proof} per line")
    p.add_argument("--backend", default="coq")
    p.add_argument("--timeout", type=float, default=None, help="seconds per proof")
    p.add_argument("--workers", type=int, default=None, help="checker processes (default: cores)")
    p.add_argument("--out", type=Path, default=None, help="output JSONL (default: stdout)")
    load_path_options.add_arguments(p, what="the libraries the headers require (added to each record's own load_path)")
    p.set_defaults(func=run)


def read_tasks(path: Path, backend: str):
    """The proofs of a JSONL file; bad input is a UsageError naming file, line and what is wrong."""
    from proofsmith.checker.types import ProofTask, Theorem
    from proofsmith.checker.json_files import InputFileError, get_field, read_jsonl

    tasks = []
    try:
        for line, record in read_jsonl(path):
            name, header, statement, proof = (get_field(record, k, str, path, line) for k in FIELDS)
            extra = {"load_path": _record_load_path(record, path, line)} if "load_path" in record else {}
            tasks.append(ProofTask(Theorem(name, statement, header, backend=backend), proof, extra=extra))
    except InputFileError as exc:
        raise UsageError(str(exc)) from None
    return tasks


def _record_load_path(record: dict, path: Path, line: int):
    """A record's own load path (mutant records carry the one their library needs)."""
    from proofsmith.checker.coq.load_path import LoadPath, LoadPathError
    from proofsmith.checker.json_files import InputFileError

    try:
        return LoadPath.from_json(record["load_path"], where="")
    except LoadPathError as exc:
        raise InputFileError(path, str(exc), line, field="load_path") from None


def run(args) -> int:
    from tqdm import tqdm

    from proofsmith.checker.registry import open_checker

    tasks = read_tasks(args.input, args.backend)
    load_path = load_path_options.load_path_from(args, discover=args.backend == "coq").merged(
        *(t.extra["load_path"] for t in tasks if "load_path" in t.extra)
    )
    settings = checker_settings({"timeout_s": ("--timeout", args.timeout), "workers": ("--workers", args.workers)})
    settings = settings.with_load_path(load_path)
    try:
        checker = open_checker(args.backend, settings)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    done = _already_judged(args.out, tasks) if args.out else 0
    if done:
        print(f"proofsmith check: {args.out} already judges the first {done} of {len(tasks)} proofs; "
              "resuming after them", file=sys.stderr)
    todo = tasks[done:]
    out = JsonlAppender(args.out).open() if args.out else None
    pending: dict[int, dict] = {}
    next_index = 0
    bar = tqdm(total=len(tasks), initial=done, unit="proof", desc="check", file=sys.stderr, disable=None)

    def emit(index: int, result) -> None:
        nonlocal next_index
        pending[index] = result.to_record(todo[index].theorem.name)
        bar.update(1)
        while next_index in pending:
            record = pending.pop(next_index)
            if out is not None:
                out.append(record)
            else:
                print(json.dumps(record), flush=True)
            next_index += 1

    try:
        with checker:
            checker.check_batch(todo, on_result=emit)
    finally:
        bar.close()
        if out is not None:
            out.close()
    return 0


def _already_judged(out: Path, tasks) -> int:
    """How many proofs, from the first, an earlier run wrote to `out`; refuses a file of other proofs."""
    from proofsmith.checker.json_files import InputFileError, read_jsonl

    try:
        names = [record.get("name") for _, record in read_jsonl(out, missing_ok=True)]
    except InputFileError as exc:
        raise UsageError(f"--out {exc}") from None
    if len(names) > len(tasks) or any(name != task.theorem.name for name, task in zip(names, tasks)):
        raise UsageError(f"--out {out}: holds results of other proofs than {len(tasks)} proofs of this input "
                         "(a rerun resumes only the same input); give another --out or delete it")
    return len(names)
