"""Shared test settings and a real HTTP judge (OpenAI-compatible, deterministic, can fail).

A uniquely named module, not conftest, so other test folders' conftests cannot shadow it.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from thinkvl.eval.config import GenerationSettings

# Short budgets keep the tiny model fast; greedy so backends can be compared token for token.
GEN = GenerationSettings(think_budget=12, answer_budget=6, temperature=0.0)


class FakeJudge:
    """Extraction requests: the word after ``FINAL=`` in the response, else NONE.
    Verdict requests: CORRECT when the reference appears in the candidate (case-insensitive).
    Grading requests (MM-Vet's table): ``grade``. ``fail=True`` answers every request with
    HTTP 500."""

    def __init__(self, fail: bool = False, grade: str = "0.4") -> None:
        self.fail = fail
        self.grade = grade
        self.calls = 0
        self.bodies: list[dict] = []
        judge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                judge.calls += 1
                judge.bodies.append(body)
                if judge.fail:
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                system, user = body["messages"][0]["content"], body["messages"][1]["content"]
                if "You grade answers" in system:
                    reply = judge.grade
                elif "extract the final answer" in system:
                    m = re.search(r"FINAL=(\w+)", user)
                    reply = m.group(1) if m else "NONE"
                else:
                    ref = re.search(r"Reference answer:\n(.*?)\n\n", user, re.S).group(1)
                    cand = re.search(r"<<<CANDIDATE \w+>>>\n(.*?)\n<<<END", user, re.S).group(1)
                    reply = "CORRECT" if ref.lower() in cand.lower() else "INCORRECT"
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply},
                                                "finish_reason": "stop"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
