"""The statement a command proves: a positional statement (or - for stdin), --header or
--header-file, -Q/-R/--project; shared by `proofsmith prove` and `proofsmith suggest`."""

from __future__ import annotations

import sys
from pathlib import Path

from proofsmith.checker.types import Theorem
from proofsmith.cli import load_path_options
from proofsmith.cli.errors import UsageError


def add_header_arguments(parser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--header", default="", help="text before the statement (imports, scopes)")
    group.add_argument("--header-file", type=Path, default=None, help="file holding the header")


def theorem_from_args(args):
    """(the Theorem of `args.statement` under its header for `args.backend`, its Coq load path or None)."""
    from proofsmith.checker.statements import StatementError, parse_statement

    text = sys.stdin.read() if args.statement == "-" else args.statement
    try:
        statement = parse_statement(args.backend, text)
    except StatementError as exc:
        raise UsageError(f"{exc} for --backend {args.backend}") from None
    if args.header_file is not None:
        if not args.header_file.is_file():
            raise UsageError(f"--header-file {args.header_file}: no such file")
        header = args.header_file.read_text(encoding="utf-8")
    else:
        header = args.header
    if args.backend == "coq":  # what the header requires of a project, built when the project lacks it
        load_path_options.prepare_project(args, headers=[header])
    load_path = load_path_options.load_path_from(args, discover=args.backend == "coq")
    if load_path and args.backend != "coq":
        raise UsageError(f"-Q/-R/--project name a Coq load path; --backend {args.backend} takes none")
    return Theorem(statement.name, statement.text, header, backend=args.backend), load_path
