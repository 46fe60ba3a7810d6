"""A stand-in for `fstar.exe --ide` that serves recorded answers.

Run as a program it behaves like F* in IDE mode on stdin/stdout: it greets
with protocol-info, reads one JSON request a line, checks that it is the
recorded request, and writes the recorded lines for it. A request that
differs from the recording ends the process with status 3 and the
difference on stderr, so a test fails with a reason.

Two sources:
- --pair X.in EXPECTED: a recorded upstream transcript (tests/fixtures/fstar_ide),
  requests compared with their query-ids;
- --script S.jsonl: steps {"request": {"query", "args"}, "replies": [...],
  "silent": bool} that a test assembles from recorded lines (query-ids are
  the client's; each reply object gets the id of the request it answers
  unless the step says "keep_ids"; a reply that is a plain string is
  written as a raw, non-JSON line).

Requests are compared as F* reads them: arguments that are null count as
absent and keys beside query-id, query and args are ignored (FStarC.Interactive.Ide).

What the recordings lost to upstream's cleanup script (tests/ide/cleanup.py)
and how this stand-in puts it back, so a real client can run on them:
- the protocol-info line was reduced to {"kind", "rest"}: the greeting here is
  the line fstar-vscode-assistant documents, with --protocol-version (2 by default);
- progress messages were dropped: after the recorded responses to a
  `full-buffer` it writes the `full-buffer-finished` progress message that
  F* ends every full-buffer with;
- responses were re-serialised with sorted keys: lines are written back as
  compact JSON, as F* prints them (key order does not matter to JSON).

A request the recording has no response for makes the stand-in fall silent
(it stops answering but stays alive), which is what F* did in
emacs/Search.cons-snoc.

Faults, for the recovery tests: --hang-at N never answers request N (0-based);
--exit-at N exits with status 1 on request N; --kill-at N dies by SIGKILL on
request N; --bloat-at N allocates --bloat-mb MB and never answers. With
--marker PATH a fault (or a silent step) happens once: it creates PATH, and a
process started while PATH exists (the restarted F*) serves --restart-script instead.

It also answers `--version` and checks F*'s own arguments: --expect-file NAME
fails (status 3) unless started as `--ide NAME`, and --report_assumes must be `warn`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

FEATURES = [
    "autocomplete", "autocomplete/context", "compute", "compute/reify", "compute/pure-subterms",
    "describe-protocol", "describe-repl", "exit", "lookup", "lookup/context", "lookup/documentation",
    "lookup/definition", "peek", "pop", "push", "search", "segment", "vfs-add", "tactic-ranges", "interrupt",
    "progress", "full-buffer", "format", "restart-solver", "cancel",
]
VERSION_TEXT = "F* replay stand-in (tests/fstar_replay.py serving recorded transcripts)"


def as_f_star_reads(request: dict[str, Any]) -> dict[str, Any]:
    args = request.get("args") or {}
    return {
        "query-id": request.get("query-id"),
        "query": request.get("query"),
        "args": {k: v for k, v in args.items() if v is not None},
    }


def expected_lines(path: Path) -> list[dict[str, Any]]:
    """The recorded output as JSON objects, without the normalised protocol-info line."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [line for line in lines if line.get("kind") != "protocol-info"]


def recorded_pair(transcript_in: Path, expected: Path) -> list[dict[str, Any]]:
    """Steps for a recorded transcript: each request with the lines recorded for its query-id."""
    requests = [json.loads(line) for line in transcript_in.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_id: dict[str, list[Any]] = {}
    for line in expected_lines(expected):
        by_id.setdefault(str(line.get("query-id")), []).append(line)
    steps = []
    for request in requests:
        replies = list(by_id.pop(str(request["query-id"]), []))
        if request["query"] == "full-buffer":
            replies.append({"kind": "message", "query-id": request["query-id"], "level": "progress",
                            "contents": {"stage": "full-buffer-finished"}})
        silent = not any(isinstance(r, dict) and r.get("kind") == "response" for r in replies)
        steps.append({"request": request, "replies": replies, "silent": silent, "exact_id": True})
    return steps


def scripted(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def silence() -> None:
    """Stop answering, stay alive (the client's deadline ends it)."""
    while True:
        time.sleep(60)


def serve(steps: list[dict[str, Any]], faults: argparse.Namespace, marker: Path | None) -> int:
    index = -1
    for raw in sys.stdin:
        if not raw.strip():
            continue
        index += 1
        try:
            request = json.loads(raw)
        except json.JSONDecodeError:
            write(json.dumps({"kind": "response", "query-id": "?", "status": "protocol-violation",
                              "response": "Json parsing failed."}))
            continue
        if marker is not None and index in (faults.exit_at, faults.kill_at, faults.hang_at, faults.bloat_at):
            marker.touch()
        if index == faults.exit_at:
            sys.stderr.write("replay: exiting as asked\n")
            return 1
        if index == faults.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if index == faults.hang_at:
            silence()
        if index == faults.bloat_at:
            ballast = bytearray(faults.bloat_mb * 1024 * 1024)
            for i in range(0, len(ballast), 4096):
                ballast[i] = 1
            silence()
        if index >= len(steps):
            sys.stderr.write(f"replay: no recorded answer for request {index}: {raw.strip()}\n")
            return 3
        step = steps[index]
        got, want = as_f_star_reads(request), as_f_star_reads(step["request"])
        if not step.get("exact_id"):
            want["query-id"] = got["query-id"]
        if got != want:
            sys.stderr.write(
                f"replay: request {index} differs from the recording\n"
                f"  recorded: {json.dumps(want, ensure_ascii=False)}\n"
                f"  received: {json.dumps(got, ensure_ascii=False)}\n"
            )
            return 3
        for reply in step.get("replies", []):
            if isinstance(reply, str):
                write(reply)
                continue
            if "query-id" in reply and not (step.get("exact_id") or step.get("keep_ids")):
                reply = {**reply, "query-id": request.get("query-id")}
            write(json.dumps(reply, ensure_ascii=False, separators=(",", ":")))
        if step.get("silent"):
            if marker is not None:
                marker.touch()
            silence()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--pair", nargs=2, type=Path, metavar=("IN", "EXPECTED"))
    source.add_argument("--script", type=Path)
    parser.add_argument("--protocol-version", type=int, default=2)
    parser.add_argument("--stray", action="append", default=[], help="a non-JSON line to print before the greeting")
    parser.add_argument("--hang-at", type=int)
    parser.add_argument("--exit-at", type=int)
    parser.add_argument("--kill-at", type=int)
    parser.add_argument("--bloat-at", type=int)
    parser.add_argument("--bloat-mb", type=int, default=512)
    parser.add_argument("--marker", type=Path)
    parser.add_argument("--restart-script", type=Path)
    parser.add_argument("--expect-file")
    # F*'s own arguments
    parser.add_argument("--ide")
    parser.add_argument("--report_assumes")
    parser.add_argument("--include", action="append", default=[])
    parser.add_argument("--version", action="store_true")
    args = parser.parse_args()
    if args.version:
        print(VERSION_TEXT)
        return 0
    if args.ide is None or args.report_assumes != "warn":
        sys.stderr.write(f"replay: expected `--ide FILE --report_assumes warn`, got {sys.argv[1:]}\n")
        return 3
    if args.expect_file is not None and args.ide != args.expect_file:
        sys.stderr.write(f"replay: started on {args.ide!r}, expected {args.expect_file!r}\n")
        return 3
    for line in args.stray:
        write(line)
    write(json.dumps({"kind": "protocol-info", "version": args.protocol_version, "features": FEATURES},
                     separators=(",", ":")))
    if args.marker is not None and args.marker.exists():
        return serve(scripted(args.restart_script), argparse.Namespace(exit_at=None, kill_at=None, hang_at=None,
                                                                      bloat_at=None, bloat_mb=0), None)
    if args.pair:
        steps = recorded_pair(*args.pair)
    elif args.script:
        steps = scripted(args.script)
    else:
        steps = []
    return serve(steps, args, args.marker)


if __name__ == "__main__":
    sys.exit(main())


# ---------------------------------------------------------------- the recorded transcripts, for the tests

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "fstar_ide"
RESPONSES_ONLY = ("responses_only/Tutorial.push.ideout.expected", "responses_only/Minimal.autocomplete-local.ideout.expected")


def transcripts() -> list[tuple[Path, Path]]:
    """Every recorded (requests, responses) pair: X.in with X.ideout.expected and/or X.out.expected,
    beside it or under old/, names compared without case (fib.compute.out.expected answers Fib.compute.in)."""
    pairs = []
    for transcript_in in sorted(FIXTURES.rglob("*.in")):
        stem = transcript_in.name[: -len(".in")].lower()
        for folder in (transcript_in.parent, transcript_in.parent / "old"):
            if not folder.is_dir():
                continue
            for expected in sorted(folder.iterdir()):
                name = expected.name.lower()
                if name in (f"{stem}.ideout.expected", f"{stem}.out.expected"):
                    pairs.append((transcript_in, expected))
    return pairs
