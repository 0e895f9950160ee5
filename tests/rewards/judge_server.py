"""A real local OpenAI-compatible chat server for judge tests (http.server on 127.0.0.1:0)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeJudgeServer:
    """``reply(body, n) -> (status, content)`` decides each answer; requests are recorded."""

    def __init__(self, reply: Callable[[dict[str, Any], int], tuple[int, str]]) -> None:
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                    n = len(server.requests)
                status, content = server.reply(body, n)
                trickle = 0.0
                if status == -1:  # hang past the client's timeout
                    time.sleep(float(content))
                    status, content = 200, "CORRECT"
                elif status == -2:  # answer, but one byte at a time (each read stays short)
                    trickle = float(content)
                    status, content = 200, "CORRECT"
                payload = (
                    json.dumps(
                        {"choices": [{"message": {"role": "assistant", "content": content}}]}
                    )
                    if status == 200
                    else content
                ).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if trickle:
                        for i in range(len(payload)):
                            self.wfile.write(payload[i : i + 1])
                            self.wfile.flush()
                            time.sleep(trickle)
                    else:
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeJudgeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def candidate_of(body: dict[str, Any]) -> str:
    """The delimited candidate text inside a judge request."""
    user = body["messages"][-1]["content"]
    start = user.index(">>>\n", user.index("<<<CANDIDATE")) + 4
    return user[start : user.index("\n<<<END CANDIDATE")]
