"""The Coq load-path options the commands share: `-Q DIR NAME`, `-R DIR NAME`, `--project PATH`.

They mean what they mean to `coqc`; `--project` reads a `_CoqProject`
(checker.coq.load_path). Commands that discover one look in the current
folder and the folders above it, as Coq's own tools do, unless told
`--no-project`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from proofsmith.cli.errors import UsageError


class _Bind(argparse.Action):
    """-Q/-R keep their order among themselves, as Coq's would."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), (option_string, *values)])


def add_arguments(
    parser: argparse.ArgumentParser, discover: bool = True, what: str = "the libraries the input needs",
    project_help: str = "",
) -> None:
    group = parser.add_argument_group("Coq load path", f"where Coq finds {what}")
    for flag, meaning in (("-Q", "bind DIR to the logical name NAME"),
                          ("-R", "bind DIR to NAME; its files can also be required by short name")):
        group.add_argument(flag, nargs=2, metavar=("DIR", "NAME"), action=_Bind, dest="coq_bindings", default=[],
                           help=f"{meaning} (repeatable)")
    found = " (default: a _CoqProject in the current folder or above)" if discover else ""
    group.add_argument("--project", default=None, metavar="PATH",
                       help=f"a _CoqProject file or the folder holding one: its -Q/-R/-I/-arg lines{found}{project_help}")
    if discover:
        group.add_argument("--no-project", action="store_true", help="do not look for a _CoqProject")
    parser.set_defaults(coq_discover_project=discover)


def load_path_from(args: argparse.Namespace, discover: bool = True):
    """The load path the options name: the project's first, then -Q/-R in order.

    `discover=False` skips looking for a _CoqProject (a command that is not about Coq this time).
    """
    from proofsmith.checker.coq.load_path import LoadPath, LoadPathError, find_project

    try:
        project = args.project
        if project is None and discover and args.coq_discover_project and not args.no_project:
            project = find_project(Path.cwd())
            if project is not None:
                print(f"proofsmith {args.command}: load path from {project}", file=sys.stderr)
        load_path = LoadPath.from_project(Path(project).expanduser()) if project is not None else LoadPath()
        for flag, directory, name in args.coq_bindings:
            if not Path(directory).expanduser().is_dir():
                raise UsageError(f"{flag} {directory} {name}: no such folder")
            load_path = load_path.merged(LoadPath.of(flag, directory, name))
    except LoadPathError as exc:
        raise UsageError(str(exc)) from None
    return load_path
