"""`proofsmith check`: judge a JSONL file of proofs.

Input lines: {"name", "header", "statement", "proof"} ("header" may be left out: no imports), and optionally
"load_path" (Coq flags such as ["-R", "/abs/dir", "Lib"], as mutant records
carry them; -Q/-R/--project add to it). With `--project DIR|stdlib`, a line
may instead name a theorem of a file of that project, to be proved where it
stands: {"name", "file", "proof"} (and optionally "line", the statement's
first line, when the name is ambiguous); header and statement come from the
file (checker.coq.file_context). Output lines, in input
order: {"name", "verdict", "reason", "axioms", "time_s"}. With --out, lines
are appended as they are judged (in input order) and a rerun with the same
input and --out resumes after the last line written. Exit 0 when every
line was judged, whatever the verdicts; exit 2 with one line naming the file
(and line and column) on bad input: missing, not UTF-8, not JSON, a field
missing or not a string, a file or theorem the project does not have, or no
proofs at all (an empty file is refused rather than judged as "nothing to
do"), and on a bad option such as --workers 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from proofsmith.cli import load_path_options
from proofsmith.cli.errors import UsageError, checker_settings
from proofsmith.formats.json_files import JsonlAppender

FIELDS = ("name", "header", "statement", "proof")  # header may be left out (no imports)
IN_CONTEXT_FIELDS = ("name", "file", "proof")  # with --project DIR|stdlib
STDLIB = "stdlib"


def register(sub) -> None:
    p = sub.add_parser("check", help="check whole proofs from a JSONL file")
    p.add_argument("input", type=Path,
                   help="JSONL: one {name, header, statement, proof} per line, or with --project one {name, file, proof}")
    p.add_argument("--backend", default="coq")
    p.add_argument("--timeout", type=float, default=None, help="seconds per proof")
    p.add_argument("--workers", type=int, default=None, help="checker processes (default: cores)")
    p.add_argument("--out", type=Path, default=None, help="output JSONL (default: stdout)")
    load_path_options.add_arguments(
        p, what="the libraries the headers require (added to each record's own load_path)",
        project_help="; or `stdlib`. Input lines may then name a theorem of a file of that project, "
                     '{"name", "file", "proof"}, proved in its own file up to its statement',
    )
    p.set_defaults(func=run)


def read_tasks(path: Path, backend: str, project: str | None = None):
    """The proofs of a JSONL file; bad input is a UsageError naming file, line and what is wrong.

    `project` (`stdlib` or a project folder) lets lines name a theorem by its file instead.
    """
    from proofsmith.checker.types import ProofTask, Theorem
    from proofsmith.formats.json_files import InputFileError, get_field, read_jsonl

    tasks = []
    try:
        for line, record in read_jsonl(path):
            if "file" in record and "statement" not in record:
                tasks.append(_in_context_task(record, path, line, backend, project))
                continue
            name, statement, proof = (get_field(record, k, str, path, line) for k in ("name", "statement", "proof"))
            header = get_field(record, "header", str, path, line, optional=True) or ""  # none: no imports
            extra = {"load_path": _record_load_path(record, path, line)} if "load_path" in record else {}
            tasks.append(ProofTask(Theorem(name, statement, header, backend=backend), proof, extra=extra))
    except InputFileError as exc:
        raise UsageError(str(exc)) from None
    return tasks


def _in_context_task(record: dict, path: Path, line: int, backend: str, project: str | None):
    """A line naming a theorem of a project file: its statement and context are the file's."""
    from proofsmith.checker.coq.file_context import ContextError, theorem_in_context
    from proofsmith.checker.types import ProofTask
    from proofsmith.formats.json_files import InputFileError, get_field

    name, file, proof = (get_field(record, k, str, path, line, nonempty=k != "proof") for k in IN_CONTEXT_FIELDS)
    at = get_field(record, "line", int, path, line, optional=True)
    if project is None:
        raise InputFileError(path, "a theorem named by its file needs --project DIR|stdlib (the project the file is in)",
                             line, "file")
    if backend != "coq":
        raise InputFileError(path, f"theorems named by their file are Coq theorems; --backend {backend} cannot check them",
                             line, "file")
    try:
        theorem = theorem_in_context(project, file, name, at)
    except ContextError as exc:
        raise InputFileError(path, str(exc), line) from None
    # the output names the theorem as the input did
    return ProofTask(replace(theorem, backend=backend), proof, extra={"name": name})


def _in_built_project(args, tasks, project: str | None):
    """The tasks with the .vo files they need built (load_path_options.prepare_project): theorems of
    project files are then replayed in the project's build copy when the project lacked them."""
    if project == STDLIB:
        return tasks
    files = sorted({t.theorem.place.file for t in tasks if t.theorem.place is not None})
    headers = sorted({t.theorem.header for t in tasks if t.theorem.place is None})
    folder = load_path_options.prepare_project(args, files, headers, discover=True)
    if folder is None or project is None or str(folder) == project:
        return tasks
    return [replace(t, theorem=replace(t.theorem, place=replace(t.theorem.place, project=str(folder))))
            if t.theorem.place is not None else t for t in tasks]


def _output_name(task) -> str:
    return task.extra.get("name", task.theorem.name)


def _project(args) -> str | None:
    """The project input lines may name files of: `stdlib`, a project folder (absolute), or None."""
    if args.project is None:
        return None
    if args.project == STDLIB:
        return STDLIB
    given = Path(args.project).expanduser()
    return str((given if given.is_dir() else given.parent).resolve())


def _record_load_path(record: dict, path: Path, line: int):
    """A record's own load path (mutant records carry the one their library needs)."""
    from proofsmith.formats.coq_load_path import LoadPath, LoadPathError
    from proofsmith.formats.json_files import InputFileError

    try:
        return LoadPath.from_json(record["load_path"], where="")
    except LoadPathError as exc:
        raise InputFileError(path, str(exc), line, field="load_path") from None


def run(args) -> int:
    from tqdm import tqdm

    from proofsmith.checker.registry import open_checker

    project = _project(args)
    tasks = read_tasks(args.input, args.backend, project)
    if args.backend == "coq":
        tasks = _in_built_project(args, tasks, project)
    # `--project stdlib` names Coq's own library: nothing to add to the load path, nothing to look for
    load_path_args = argparse.Namespace(**{**vars(args), "project": None, "no_project": True}) if project == STDLIB else args
    load_path = load_path_options.load_path_from(load_path_args, discover=args.backend == "coq").merged(
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
    verdicts: Counter[str] = Counter()
    next_index = 0
    bar = tqdm(total=len(tasks), initial=done, unit="proof", desc="check", file=sys.stderr, disable=None)

    def emit(index: int, result) -> None:
        nonlocal next_index
        pending[index] = result.to_record(_output_name(todo[index]))
        verdicts[result.verdict.value] += 1
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
    counts = ", ".join(f"{verdicts[v]} {v}" for v in ("proved", "failed", "error", "timeout") if verdicts[v])
    where = f"; results: {args.out}" if args.out else ""
    resumed = f" (and {done} judged before, kept)" if done else ""
    print(f"proofsmith check: judged {len(todo)} proof(s){resumed}: {counts or 'nothing to do'}{where}", file=sys.stderr)
    return 0


def _already_judged(out: Path, tasks) -> int:
    """How many proofs, from the first, an earlier run wrote to `out`; refuses a file of other proofs."""
    from proofsmith.formats.json_files import InputFileError, read_jsonl

    try:
        names = [record.get("name") for _, record in read_jsonl(out, missing_ok=True, appended=True)]
    except InputFileError as exc:
        raise UsageError(f"--out {exc}") from None
    if len(names) > len(tasks) or any(name != _output_name(task) for name, task in zip(names, tasks)):
        raise UsageError(f"--out {out}: holds results of other proofs than {len(tasks)} proofs of this input "
                         "(a rerun resumes only the same input); give another --out or delete it")
    return len(names)
