"""A stand-in for the Lean REPL executable that serves recorded responses.

Run as a program it behaves like `repl` on stdin/stdout: it reads requests
with the REPL's own framing for the given version (lines up to a blank line;
before v4.22 joined with their newlines, from v4.22 right-trimmed and joined
with nothing), checks that each request is exactly the recorded one (as
parsed JSON), and answers with the recorded response text followed by a
blank line. A request that differs from the recording ends the process with
status 3 and the difference on stderr, so a test fails with a reason.

Transcripts are either recorded pairs (`X.in` and `X.expected.out` from
leanprover-community/repl's test suite, served one after the other) or a
JSON Lines script of {"request": {...}, "response": "..."} steps that a
test assembles.

Faults, for the recovery tests: --hang-at N never answers request N;
--exit-at N dies on request N; --bloat-at N allocates --bloat-mb MB of
resident memory on request N and then never answers. With --marker PATH a
fault happens once: it creates PATH, and a process started while PATH
exists (the restarted REPL) serves --restart-script instead.

The module is also imported by the tests for the same framing rules.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

NO_SEPARATOR_FROM = (4, 22)


def version_tuple(version: str) -> tuple[int, int]:
    m = re.match(r"v?(\d+)\.(\d+)", version)
    if not m:
        raise ValueError(f"not a Lean version: {version!r}")
    return int(m.group(1)), int(m.group(2))


def request_blocks(lines: Iterable[str], version: str) -> Iterator[str]:
    """The request texts the REPL of `version` reads from these lines."""
    joined_with_nothing = version_tuple(version) >= NO_SEPARATOR_FROM
    block: list[str] = []
    for line in lines:
        if not line.strip():
            if block:
                yield "".join(block)
                block = []
            continue
        block.append(line.rstrip() if joined_with_nothing else line)
    if block:
        yield "".join(block)


def response_blocks(text: str) -> list[str]:
    """Responses are pretty-printed JSON separated by blank lines (no raw newline inside a JSON string)."""
    return [b.strip("\n") for b in re.split(r"\n[ \t]*\n", text) if b.strip()]


def recorded_pair(transcript_in: Path, version: str) -> list[tuple[dict, str]]:
    requests = [json.loads(b) for b in request_blocks(transcript_in.read_text().splitlines(keepends=True), version)]
    expected = transcript_in.with_name(transcript_in.name[: -len(".in")] + ".expected.out")
    responses = response_blocks(expected.read_text())
    if len(requests) != len(responses):
        raise ValueError(f"{transcript_in}: {len(requests)} requests but {len(responses)} responses")
    return list(zip(requests, responses))


def scripted(path: Path) -> list[tuple[dict, str]]:
    steps = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(s["request"], s["response"]) for s in steps]


def serve(steps: list[tuple[dict, str]], version: str, hang_at: int | None, exit_at: int | None,
          bloat_at: int | None, bloat_mb: int, marker: Path | None) -> int:
    for index, block in enumerate(request_blocks(sys.stdin, version)):
        if block.lstrip().startswith(("#", "--")):
            continue
        try:
            request = json.loads(block)
        except json.JSONDecodeError as exc:
            sys.stderr.write(f'uncaught exception: {{"message": "Could not parse JSON:\\n{exc}"}}\n')
            return 1
        if marker is not None and index in (exit_at, hang_at, bloat_at):
            marker.touch()
        if index == exit_at:
            sys.stderr.write("replay: dying as asked\n")
            return 1
        if index == hang_at:
            time.sleep(120)  # killed by the client long before
        if index == bloat_at:
            ballast = bytearray(bloat_mb * 1024 * 1024)
            for i in range(0, len(ballast), 4096):
                ballast[i] = 1
            time.sleep(120)  # killed by the client long before
        if index >= len(steps):
            sys.stderr.write(f"replay: no recorded response for request {index}: {block}\n")
            return 3
        expected, response = steps[index]
        if request != expected:
            sys.stderr.write(
                f"replay: request {index} differs from the recording\n"
                f"  recorded: {json.dumps(expected, ensure_ascii=False)}\n"
                f"  received: {json.dumps(request, ensure_ascii=False)}\n"
            )
            return 3
        sys.stdout.write(response + "\n\n")
        sys.stdout.flush()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("version", help="the REPL version whose framing to use, e.g. v4.15.0")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pair", type=Path, action="append",
                        help="a recorded X.in (X.expected.out beside it); repeat to serve several in order")
    source.add_argument("--script", type=Path, help="JSON Lines of {request, response}")
    parser.add_argument("--hang-at", type=int)
    parser.add_argument("--exit-at", type=int)
    parser.add_argument("--bloat-at", type=int)
    parser.add_argument("--bloat-mb", type=int, default=512)
    parser.add_argument("--marker", type=Path)
    parser.add_argument("--restart-script", type=Path)
    args = parser.parse_args()
    if args.marker is not None and args.marker.exists():
        return serve(scripted(args.restart_script), args.version, None, None, None, 0, None)
    if args.pair:
        steps = [step for pair in args.pair for step in recorded_pair(pair, args.version)]
    else:
        steps = scripted(args.script)
    return serve(steps, args.version, args.hang_at, args.exit_at, args.bloat_at, args.bloat_mb, args.marker)


if __name__ == "__main__":
    sys.exit(main())
