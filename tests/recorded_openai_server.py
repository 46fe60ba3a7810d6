"""A real local HTTP server that replays recorded answers of OpenAI-compatible model servers.

Each fixture (tests/fixtures/openai_server/*.json) lists exchanges; the server
answers the requests to a path with that path's exchanges in order, the last
one repeating. An exchange may carry `delay_s` (the answer comes that late).
Every request body is kept in `requests`, in order.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "openai_server"

# vLLM's GET /v1/models (ModelList / ModelCard in vllm/entrypoints/openai/protocol.py).
MODELS = {
    "object": "list",
    "data": [{
        "id": "proofsmith/coq-tactics-1.5b", "object": "model", "created": 1732924800, "owned_by": "vllm",
        "root": "proofsmith/coq-tactics-1.5b", "parent": None, "max_model_len": 4096, "permission": [],
    }],
}


def load_exchanges(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))["exchanges"]


class RecordedOpenAIServer:
    def __init__(self, *fixtures: str, exchanges: list[dict] | None = None):
        self.requests: list[tuple[str, dict]] = []
        self._queues: dict[str, list[dict]] = {}
        self._lock = threading.Lock()
        for name in fixtures:
            self.add(load_exchanges(name))
        if exchanges:
            self.add(exchanges)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def add(self, exchanges: list[dict]) -> None:
        for exchange in exchanges:
            self._queues.setdefault(exchange["path"], []).append(exchange)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def bodies(self, path: str) -> list[dict]:
        return [body for p, body in self.requests if p == path]

    def __enter__(self) -> RecordedOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, path: str) -> dict | None:
        with self._lock:
            queue = self._queues.get(path)
            if not queue:
                return None
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _handler(self):
        recorded = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, status: int, body, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def do_GET(self) -> None:
                if self.path == "/v1/models":
                    self._send(200, MODELS)
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found_error"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with recorded._lock:
                    recorded.requests.append((self.path, body))
                exchange = recorded._next(self.path)
                if exchange is None:
                    self._send(404, {"error": {"message": f"no recorded answer for {self.path}", "type": "not_found_error"}})
                    return
                time.sleep(exchange.get("delay_s", 0))
                self._send(exchange["status"], exchange["body"], exchange.get("headers"))

        return Handler
