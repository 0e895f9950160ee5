"""HF backend vs the OpenAI-compatible backend against a real local server: same prompts
(images and video frames as data URIs), same decoding, so greedy outputs must agree."""

import base64
import io
import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from PIL import Image

from evalkit import GEN
from thinkvl.eval import evaluate
from thinkvl.eval.backends import Request, to_openai_messages
from thinkvl.eval.backends.openai import OpenAIBackend
from thinkvl.eval.config import OpenAISettings
from thinkvl.eval.serve import start_server
from thinkvl.model.inputs import Media


@pytest.fixture(scope="module")
def server(tiny):
    model, processor = tiny
    with start_server(model, processor, name="tiny") as srv:
        yield srv


@pytest.mark.parametrize("mode", ["think", "direct"])
def test_hf_and_openai_server_agree_greedy(tiny, server, eval_file, mode):
    model, processor = tiny
    hf = evaluate(model, processor, eval_file, mode=mode, generation=GEN, batch_size=16)
    api = evaluate(OpenAIBackend(server.url), None, eval_file, mode=mode, generation=GEN)
    assert {s.domain for s in hf.samples} >= {"counting", "video", "gui"}  # images and video
    assert len(hf.samples) == len(api.samples) == 16
    for a, b in zip(hf.samples, api.samples):
        assert (a.id, a.text, a.forced, a.truncated) == (b.id, b.text, b.forced, b.truncated)
        assert (a.score, a.method, a.invalid) == (b.score, b.method, b.invalid)
    assert hf.to_dict()["overall"] == api.to_dict()["overall"]
    assert api.settings["backend"] == "openai" and hf.settings["backend"] == "hf"
    assert any(s.forced for s in hf.samples)  # force-answering ran through both paths


def test_requests_carry_lossless_data_uris():
    img = Image.new("RGB", (20, 12), (10, 200, 30))
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    prompt = [{"role": "user", "content": [{"type": "image", "image": "a.png"},
                                           {"type": "video", "video": "clip"},
                                           {"type": "text", "text": "hi"}]}]
    msgs = to_openai_messages(Request(prompt, Media(images=[img], videos=[frames])))
    parts = msgs[0]["content"]
    assert [p["type"] for p in parts] == ["image_url", "video_url", "text"]
    url = parts[0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    back = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert back.tobytes() == img.tobytes()
    assert parts[1]["video_url"]["url"].startswith("data:video/jpeg;base64,")
    assert parts[1]["video_url"]["url"].count(",") == 2  # two frames


def test_server_honours_decoding_settings(server):
    msg = [{"role": "user", "content": [{"type": "text", "text": "How many red squares?"}]}]
    post = lambda **kw: httpx.post(f"{server.url}/chat/completions",  # noqa: E731
                                   json={"model": "tiny", "messages": msg, **kw}, timeout=60).json()
    a = post(max_tokens=5, temperature=0)
    b = post(max_tokens=5, temperature=0)
    assert a["choices"][0]["message"] == b["choices"][0]["message"]  # greedy is deterministic
    assert a["usage"]["completion_tokens"] <= 5 and a["choices"][0]["finish_reason"] == "length"
    long = post(max_tokens=12, temperature=0)["choices"][0]["message"]["content"]
    assert long.startswith(a["choices"][0]["message"]["content"])
    sampled = {post(max_tokens=8, temperature=1.0, seed=s)["choices"][0]["message"]["content"]
               for s in range(4)}
    assert len(sampled) > 1  # temperature is honoured
    assert httpx.get(f"{server.url}/models").json()["data"][0]["id"] == "tiny"
    bad = httpx.post(f"{server.url}/chat/completions", json={"messages": []}, timeout=10)
    assert bad.status_code == 400 and "messages" in bad.json()["error"]["message"]


def test_server_keeps_protocol_markers_unless_asked(server):
    msg = [{"role": "user", "content": "hi"},
           {"role": "assistant", "content": "<think>x</think><answer>"}]
    body = {"messages": msg, "max_tokens": 3, "temperature": 0, "continue_final_message": True,
            "add_generation_prompt": False}
    r = httpx.post(f"{server.url}/chat/completions", json=body, timeout=60).json()
    assert r["choices"][0]["finish_reason"] in ("stop", "length")
    body["continue_final_message"] = True
    body["add_generation_prompt"] = True
    assert httpx.post(f"{server.url}/chat/completions", json=body, timeout=60).status_code == 400


class _Flaky:
    """A real server that fails the first ``n`` requests with 503, then relays to ``target``."""

    def __init__(self, target: str, n: int, status: int = 503):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import threading

        state = {"left": n, "seen": 0}
        self.state = state

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _reply(self, code, data):
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._reply(200, httpx.get(target + self.path.removeprefix("/v1")).content)

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                state["seen"] += 1
                if state["left"] > 0:
                    state["left"] -= 1
                    self._reply(status, b'{"error": "busy"}')
                    return
                r = httpx.post(target + self.path.removeprefix("/v1"), content=body, timeout=60)
                self._reply(r.status_code, r.content)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_openai_backend_retries_then_gives_up(server, eval_file, tmp_path):
    records = [json.loads(l) for l in eval_file.read_text().splitlines()][:2]
    for rec in records:
        rec["_source"] = f"{eval_file}:1"
    flaky = _Flaky(server.url, n=2)
    try:
        fast = OpenAISettings(backoff_s=0.01, max_retries=3, concurrency=1)
        r = evaluate(OpenAIBackend(flaky.url, fast), None, records, generation=GEN, out_dir=tmp_path)
        assert r.overall.failed == 0 and r.generated == 2
    finally:
        flaky.close()
    broken = _Flaky(server.url, n=100, status=400)
    try:
        r = evaluate(OpenAIBackend(broken.url, OpenAISettings(backoff_s=0.01)), None, records,
                     generation=GEN, out_dir=tmp_path / "b")
        assert r.overall.failed == 2 and r.generated == 0  # not stored: the next run retries
        assert broken.state["seen"] == 2  # a 400 is not retried
        assert not (tmp_path / "b" / "predictions.jsonl").exists()
    finally:
        broken.close()


@pytest.mark.slow
def test_serve_command_subprocess(tiny_dir):
    """`python -m thinkvl.eval.serve` (what `thinkvl eval serve` runs) answers chat requests."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "thinkvl.eval.serve", "--model", str(tiny_dir),
                             "--port", str(port), "--name", "tiny"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 300  # bounds a hang: start-up is torch + a model load,
        while True:                        # seconds on a quiet machine, far more on a busy one
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the server did not answer within 300 s"
            try:
                if httpx.get(f"{url}/models", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        img = Image.new("RGB", (64, 64), "red")
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
        msg = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": uri}},
                                            {"type": "text", "text": "How many?"}]}]
        r = httpx.post(f"{url}/chat/completions", json={"messages": msg, "max_tokens": 4,
                                                        "temperature": 0}, timeout=60).json()
        assert r["model"] == "tiny" and r["usage"]["completion_tokens"] <= 4
        assert r["usage"]["prompt_tokens"] > 16  # the image's 16 vision tokens are in the prompt
    finally:
        proc.terminate()
        proc.wait(timeout=30)
