"""What the Lean and Kimina clients themselves cost, measured against the recorded-answer stand-ins.

    .venv/bin/python -m tests.lean_client_overhead

No Lean runs here: the REPL is tests/lean_replay.py and the Kimina server
tests/kimina_replay.py, so the figures are client overhead (framing, typed
parsing, IPC or HTTP) plus the stand-in's own cost, an upper bound on what
proofsmith adds to a real Lean check. It lives beside the stand-ins and their
recordings, which are test material: the benchmark scripts in bench/ use the
library only.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from proofsmith.checker.kimina import KiminaClient
from proofsmith.checker.lean.process import LeanRepl
from proofsmith.checker.lean.protocol import parse_request, parse_response

from .kimina_replay import KiminaReplay, recordings
from .lean_replay import recorded_pair

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures" / "lean_repl"


def repl_round_trips(version: str) -> None:
    pairs = [p for p in sorted((FIXTURES / version / "test").rglob("*.in"))
             if p.with_name(p.name[:-3] + ".expected.out").exists()]
    steps = [step for p in pairs for step in recorded_pair(p, version)]
    requests = [parse_request(q) for q, _ in steps]
    argv = [sys.executable, "-S", str(HERE / "lean_replay.py"), version,
            *[arg for p in pairs for arg in ("--pair", str(p))]]
    repl = LeanRepl(argv)
    repl.request(requests[0], 30)  # process start-up is not part of a round trip
    t0 = time.perf_counter()
    for request in requests[1:]:
        repl.request(request, 30)
    round_trip = (time.perf_counter() - t0) / (len(requests) - 1)
    repl.kill()
    t0 = time.perf_counter()
    for (_, raw), request in zip(steps, requests):
        parse_response(request, raw)
    parse = (time.perf_counter() - t0) / len(steps)
    print(f"REPL {version}: {len(requests) - 1} recorded requests, {round_trip * 1e6:.0f} us per round trip, "
          f"{parse * 1e6:.0f} us of it typed parsing")


def kimina_batches() -> None:
    snippets = [(custom_id, code) for code, by_id in recordings().items() for custom_id in by_id]
    with KiminaReplay() as server:
        client = KiminaClient(server.url)
        for size in (1, 16, len(snippets)):
            t0 = time.perf_counter()
            for i in range(0, len(snippets), size):
                client.verify(snippets[i : i + size], 300)
            per = (time.perf_counter() - t0) / len(snippets)
            print(f"Kimina /verify, {len(snippets)} recorded snippets in batches of {size}: {per * 1e3:.2f} ms per snippet")
        client.close()


if __name__ == "__main__":
    for version in ("v4.9.0", "v4.15.0", "v4.19.0", "v4.33.0-rc2"):
        repl_round_trips(version)
    kimina_batches()
