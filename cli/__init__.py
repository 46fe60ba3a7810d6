"""`proofsmith`: a thin shell over library functions.

Each subcommand lives in its own module with a `register(subparsers)` that
adds its parser and sets `func`. Modules must import heavy libraries (torch,
faiss, ray) inside their handlers so that `proofsmith --help` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from checker.backend import CheckerUnavailable
from checker.json_files import InputFileError
from cli.errors import UsageError

COMMAND_MODULES = [
    "cli.check",
    "cli.eval",
    "cli.prove",
    "cli.index",
    "cli.retrieve",
    "cli.train",
    "cli.eval_retrieval",
    "cli.synth",
    "cli.trace",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="proofsmith", description="Machine theorem proving and verified synthesis."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UsageError, InputFileError) as exc:  # InputFileError: a damaged input or log file, named by line
        print(f"proofsmith {args.command}: {exc}", file=sys.stderr)
        return 2
    except CheckerUnavailable as exc:
        print(f"proofsmith {args.command}: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print(f"proofsmith {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
