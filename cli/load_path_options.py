"""The Coq load-path options the commands share: `-Q DIR NAME`, `-R DIR NAME`, `--project PATH`.

They mean what they mean to `coqc`; `--project` reads a `_CoqProject`
(formats.coq_load_path). Commands that discover one look in the current
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
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), (option_string, *(values or ()))])


def add_arguments(
    parser: argparse.ArgumentParser, discover: bool = True, what: str = "the libraries the input needs",
    project_help: str = "", build: bool = True,
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
    if build:
        group.add_argument("--no-build", action="store_true",
                           help="do not build the project's missing .vo files (into proofsmith's cache folder, never "
                                "into the project); name the first one missing and the command that makes it instead")
    parser.set_defaults(coq_discover_project=discover, no_build=not build)


def project_of(args: argparse.Namespace, discover: bool = True) -> Path | None:
    """The _CoqProject the options name or the one found from the current folder (None: none, or `stdlib`)."""
    from proofsmith.formats.coq_load_path import find_project

    if args.project == "stdlib":
        return None
    if args.project is not None:
        return Path(args.project).expanduser()
    if discover and args.coq_discover_project and not getattr(args, "no_project", False):
        return find_project(Path.cwd())
    return None


def prepare_project(args: argparse.Namespace, files=None, headers=(), discover: bool = True) -> Path | None:
    """Make the project usable for `files` (None with no headers: every file) and `headers`: the .vo
    files they need are built into the cache folder when the project lacks them (a progress bar on
    stderr), or with --no-build a UsageError names the first missing one and the command that makes
    it. Afterwards `args.project` names the folder to use (the project, or its build copy); returns it."""
    from proofsmith.checker.coq import project_build

    project = project_of(args, discover)
    if project is None:
        return None
    command = f"proofsmith {_command(args)}"
    if args.project is None:
        print(f"{command}: load path from {project}", file=sys.stderr)
    try:
        if args.no_build:
            missing = project_build.missing_libraries(project, files, headers)
            if missing:
                more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
                raise UsageError(f"--no-build: {missing[0].describe()}{more}")
            prepared_folder = project_build.project_folder(project)
        else:
            progress = _BuildProgress(command)
            try:
                prepared = project_build.prepare_project(project, files, headers, on_file=progress)
            finally:
                progress.close()
            if prepared.compiled or prepared.failures:
                print(f"{command}: built {len(prepared.compiled)} file(s) of {prepared.source} into {prepared.folder}"
                      + (f"; {len(prepared.failures)} did not compile" if prepared.failures else ""), file=sys.stderr)
            for file, message in prepared.failures.items():
                print(f"{command}: {prepared.source / file} does not compile: {one_line(message)}", file=sys.stderr)
            prepared_folder = prepared.folder
    except (project_build.ProjectBuildError, OSError) as exc:
        raise UsageError(f"--project {project}: {exc}") from None
    args.project = str(prepared_folder)
    return prepared_folder


def one_line(message: str, limit: int = 400) -> str:
    """Coq's message on one line (its `File ..., line N` part kept), cut to `limit` characters."""
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _command(args) -> str:
    return " ".join(part for part in (args.command, getattr(args, "synth_command", None)) if part)


class _BuildProgress:
    """A tqdm bar over the files to compile, started at the first one."""

    def __init__(self, desc: str):
        self.desc = desc
        self.bar = None

    def __call__(self, index: int, total: int, file: str) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, unit="file", desc=f"{self.desc}: build", file=sys.stderr, disable=None)
        self.bar.set_postfix_str(file, refresh=False)
        self.bar.n = index
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.n = self.bar.total
            self.bar.close()


def load_path_from(args: argparse.Namespace, discover: bool = True):
    """The load path the options name: the project's first, then -Q/-R in order.

    `discover=False` skips looking for a _CoqProject (a command that is not about Coq this time).
    """
    from proofsmith.formats.coq_load_path import LoadPath, LoadPathError, find_project

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
