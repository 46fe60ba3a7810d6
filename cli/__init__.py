"""`proofsmith`: a thin shell over library functions.

Each subcommand lives in its own module with a `register(subparsers)` that
adds its parser and sets `func`. Modules must import heavy libraries (torch,
faiss, ray) inside their handlers so that `proofsmith --help` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading

from proofsmith.checker import child_process
from proofsmith.checker.backend import CheckerUnavailable
from proofsmith.cli.errors import UsageError
from proofsmith.formats.json_files import InputFileError

COMMAND_MODULES = [
    "proofsmith.cli.check",
    "proofsmith.cli.eval",
    "proofsmith.cli.prove",
    "proofsmith.cli.suggest",
    "proofsmith.cli.index",
    "proofsmith.cli.retrieve",
    "proofsmith.cli.train",
    "proofsmith.cli.eval_retrieval",
    "proofsmith.cli.synth",
    "proofsmith.cli.trace",
    "proofsmith.cli.iterate",
    "proofsmith.cli.compare",
    "proofsmith.cli.recheck",
]


class SubcommandParser(argparse.ArgumentParser):
    """A subcommand's parser: an argument it does not know is its error (its usage, its name), not the
    top-level parser's, which would print `proofsmith COMMAND ...` and leave the user to find the flag."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}{self._did_you_mean(extras)}")
        return namespace, extras

    def _did_you_mean(self, extras: list[str]) -> str:
        import difflib

        known = [flag for action in self._actions for flag in action.option_strings]
        guesses = [f"{flag} -> {close[0]}" for flag in extras if flag.startswith("--")
                   for close in [difflib.get_close_matches(flag.split("=")[0], known, n=1)] if close]
        return f" (did you mean: {', '.join(guesses)}?)" if guesses else ""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="proofsmith", description="Machine theorem proving and verified synthesis."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=SubcommandParser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


_stop_signal: int | None = None


def _on_exit_signal(signum: int, frame) -> None:
    """SIGINT/SIGTERM: kill every child now (that unblocks every thread waiting on one) and unwind
    the main thread, so finished results are flushed; a second signal exits at once."""
    global _stop_signal
    child_process.shutdown()
    if _stop_signal is not None:
        os._exit(128 + signum)
    _stop_signal = signum
    if _in_finalizer(frame):
        # a KeyboardInterrupt raised inside a __del__ (Popen's, while a pool is torn down) is only
        # printed as an ignored exception with its traceback: end the process the quiet way instead
        print(f"proofsmith: interrupted ({signal.Signals(signum).name}) while shutting down; "
              "every process it started is stopped", file=sys.stderr)
        _exit_soon(128 + signum)
        return
    raise KeyboardInterrupt


def _in_finalizer(frame) -> bool:
    """Whether the interrupted code runs inside a __del__ (where an exception cannot propagate)."""
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def _exit_quietly(signum: int, frame) -> None:
    """After the command is done (the interpreter tearing down): a signal ends the process at once."""
    os._exit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if threading.current_thread() is not threading.main_thread():  # signals go to the main thread only
        return _run(args)
    previous = {s: signal.signal(s, _on_exit_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run(args)
    finally:
        for signum, handler in previous.items():
            # the program itself (no argv given): nothing is left to do, so a Ctrl-C during the
            # interpreter's teardown exits without a traceback; a caller's main(argv) gets its handlers back
            signal.signal(signum, _exit_quietly if argv is None else handler)


def _run(args) -> int:
    try:
        return int(args.func(args) or 0)
    except (UsageError, InputFileError) as exc:  # InputFileError: a damaged input or log file, named by line
        print(f"proofsmith {args.command}: {exc}", file=sys.stderr)
        return 2
    except CheckerUnavailable as exc:
        print(f"proofsmith {args.command}: {exc}", file=sys.stderr)
        return 3
    except BrokenPipeError:  # stdout went away (`| head`): nothing more to say to it
        _silence_stdout()
        return 141
    except KeyboardInterrupt:
        signum = _stop_signal or signal.SIGINT
        print(f"proofsmith {args.command}: interrupted ({signal.Signals(signum).name}); "
              f"every process it started is stopped{_resume_note(args)}", file=sys.stderr)
        _exit_soon(128 + signum)
        return 128 + signum


# Commands whose work is appended as it finishes, so that the same command run again goes on from there.
RESUMING_COMMANDS = frozenset({"eval", "synth", "trace", "iterate", "train"})


def _resume_note(args) -> str:
    if args.command in RESUMING_COMMANDS or (args.command == "check" and getattr(args, "out", None)):
        return "; what finished is saved: run the same command again to resume"
    return ""


EXIT_GRACE_S = 3.0


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _exit_soon(code: int) -> None:
    """Finished results are on disk by now; a thread still busy (one not waiting on a child) must not
    hold the exit up: after EXIT_GRACE_S the process ends whatever is still running."""

    def force() -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)

    timer = threading.Timer(EXIT_GRACE_S, force)
    timer.daemon = True
    timer.start()


if __name__ == "__main__":
    sys.exit(main())
