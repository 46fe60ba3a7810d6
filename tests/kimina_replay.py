"""A stand-in Kimina Lean Server that answers with the recorded results (tests/fixtures/kimina/).

It serves real HTTP on 127.0.0.1 so the client's own httpx code runs. The
recordings are `POST /verify` answers to the Goedel-Prover files in
`match/input/`:

- `POST /verify` with exactly a recorded file as `code`/`proof` and its
  recorded `custom_id` gets the recorded result object unchanged.
- `POST /api/check` gets the same recorded results in the current
  endpoint's shape ({id, time, response | error}, the REPL answer without
  the merged `time`), the inverse of the server's own `/verify` adapter.
  No `/api/check` answer was ever recorded; this shape is derived.
- A snippet that ends with `#print axioms NAME` (what proofsmith's checker
  sends) is matched against the recorded file with that line removed, up to
  whitespace and comments, and its answer gets one more info message in
  the wording of Lean's `#print axioms`, naming `axioms`: that message is
  constructed, never recorded.

Anything else gets HTTP 422 naming what did not match.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from proofsmith.checker.lean.guard import scrub

MATCH = Path(__file__).parent / "fixtures" / "kimina" / "match"
PRINT_AXIOMS = re.compile(r"\n\s*#print axioms (\S+)\s*$")


def squeezed(code: str) -> str:
    return " ".join(scrub(code, strings=False).split())


def recordings() -> dict[str, dict[str, dict]]:
    """Recorded input code -> {custom_id: recorded result object} (proof1 and proof2 share their code)."""
    found: dict[str, dict[str, dict]] = {}
    for source in sorted((MATCH / "input").glob("*.lean")):
        (result,) = json.loads((MATCH / "output" / f"{source.stem}.json").read_text())["results"]
        found.setdefault(source.read_text(), {})[result["custom_id"]] = result
    return found


class KiminaReplay:
    def __init__(self, api_key: str | None = None, legacy_only: bool = False, axioms=("propext", "Classical.choice", "Quot.sound")):
        self.api_key = api_key
        self.legacy_only = legacy_only
        self.axioms = list(axioms)
        self.by_code = recordings()
        self.by_squeezed = {squeezed(code): value for code, value in self.by_code.items()}
        self.requests: list[tuple[str, dict]] = []
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._send(404, {"detail": "Not Found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                replay.requests.append((self.path, body))
                if replay.api_key and self.headers.get("X-Auth-Token", "").removeprefix("Bearer ").strip() != replay.api_key:
                    return self._send(401, {"detail": "Invalid API key"})
                try:
                    if self.path == "/verify":
                        answer = {"results": [replay.verify_result(c["custom_id"], c.get("code") or c.get("proof")) for c in body["codes"]]}
                    elif self.path == "/api/check" and not replay.legacy_only:
                        answer = {"results": [replay.check_result(s["id"], s["code"], body["timeout"]) for s in body["snippets"]]}
                    else:
                        return self._send(404, {"detail": "Not Found"})
                except LookupError as exc:
                    return self._send(422, {"detail": str(exc)})
                self._send(200, answer)

            def _send(self, status: int, data: dict) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> KiminaReplay:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _recorded(self, custom_id: str, code: str) -> dict:
        if code not in self.by_code:
            return {**self._with_axioms(code), "custom_id": custom_id}
        if custom_id not in self.by_code[code]:
            raise LookupError(f"custom_id {custom_id!r} but the recording has {', '.join(self.by_code[code])}")
        return self.by_code[code][custom_id]

    def verify_result(self, custom_id: str, code: str) -> dict:
        return self._recorded(custom_id, code)

    def check_result(self, snippet_id: str, code: str, timeout: int) -> dict:
        result = self._recorded(snippet_id, code)
        if result["error"] is not None:
            return {"id": snippet_id, "time": float(timeout), "error": result["error"]}
        response = dict(result["response"])
        elapsed = response.pop("time")
        return {"id": snippet_id, "time": elapsed, "response": response}

    def _with_axioms(self, code: str) -> dict:
        m = PRINT_AXIOMS.search(code)
        if not m:
            raise LookupError(f"no recording for code starting {code[:80]!r}")
        key = squeezed(code[: m.start()])
        if key not in self.by_squeezed:
            raise LookupError(f"no recording for code starting {code[:80]!r}")
        (result, *_) = self.by_squeezed[key].values()
        if result["response"] is None:
            return result
        response = dict(result["response"])
        name = m.group(1)
        text = f"'{name}' depends on axioms: [{', '.join(self.axioms)}]" if self.axioms else f"'{name}' does not depend on any axioms"
        line = len(code[: m.start()].splitlines()) + 2
        constructed = {"severity": "info", "pos": {"line": line, "column": 0},
                       "endPos": {"line": line, "column": 13}, "data": text}
        response["messages"] = list(response.get("messages", [])) + [constructed]
        return {**result, "response": response}
