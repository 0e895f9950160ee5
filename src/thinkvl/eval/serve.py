"""A small OpenAI-compatible chat-completions server over a local Hugging Face model.

It exists so the OpenAI backend can be tested against a real HTTP server without a GPU, and
so a tiny or CPU model can be served to any OpenAI client. Stdlib ``http.server`` only; one
generation at a time (a lock), which keeps greedy outputs identical to the HF backend's.

Supported: ``POST /v1/chat/completions`` with text, ``image_url`` (data URIs or local paths)
and ``video_url`` (vLLM's ``data:video/jpeg;base64,<frame>,<frame>`` frame lists, or a video
file) parts; ``temperature`` (0 = greedy), ``top_p``, ``max_tokens``, ``seed``;
``skip_special_tokens`` (default False: the full text with ``<think>``… markers is returned);
vLLM's ``continue_final_message`` / ``add_generation_prompt`` for force-answering.
``GET /v1/models`` and ``GET /health``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import logging
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import Image

log = logging.getLogger("thinkvl.eval.serve")


class BadRequest(ValueError):
    """The request cannot be served; the message goes back to the client with status 400."""


def _decode_video_url(url: str) -> list[Image.Image]:
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        if "video/jpeg" in header or "video/png" in header:  # vLLM's frame-list convention
            return [Image.open(io.BytesIO(base64.b64decode(f))).convert("RGB")
                    for f in payload.split(",")]
        with tempfile.NamedTemporaryFile(suffix=".mp4") as tmp:  # an encoded video file
            tmp.write(base64.b64decode(payload))
            tmp.flush()
            from thinkvl.data.media import decode_video

            return decode_video(tmp.name)
    from thinkvl.data.media import load_video_frames

    return load_video_frames(url.removeprefix("file://"))


def _image(url: str) -> Any:
    if url.startswith("data:"):
        return url
    if url.startswith(("http://", "https://")):
        raise BadRequest("remote image URLs are not fetched; send a data: URI or a local path")
    return url.removeprefix("file://")


def _url(value: Any) -> str:
    return value["url"] if isinstance(value, dict) else value


def to_thinkvl_messages(messages: list[dict]) -> list[dict]:
    """OpenAI chat messages → thinkvl chat messages (images as data URIs or paths, videos as
    frames)."""
    out = []
    for m in messages:
        content = m.get("content")
        if content is None or isinstance(content, str):
            out.append({"role": m["role"], "content": content or ""})
            continue
        parts = []
        for part in content:
            kind = part.get("type")
            if kind == "text":
                parts.append({"type": "text", "text": part["text"]})
            elif kind == "image_url":
                parts.append({"type": "image", "image": _image(_url(part["image_url"]))})
            elif kind == "video_url":
                parts.append({"type": "video", "video": _decode_video_url(_url(part["video_url"]))})
            else:
                raise BadRequest(f"unsupported content part type {kind!r}")
        out.append({"role": m["role"], "content": parts})
    return out


@dataclass
class Served:
    """The model behind the server, and the token ids of recent replies: a continuation of a
    reply resumes from its exact tokens (re-tokenizing decoded text need not give them back)."""

    model: Any
    processor: Any
    name: str = "thinkvl"
    cache_size: int = 4096

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._replies: OrderedDict[str, list[int]] = OrderedDict()

    def _remember(self, prompt_key: str, text: str, ids: list[int]) -> None:
        self._replies[hashlib.sha1((prompt_key + "\0" + text).encode()).hexdigest()] = ids
        while len(self._replies) > self.cache_size:
            self._replies.popitem(last=False)

    def _assistant_ids(self, prompt_key: str, text: str) -> list[int]:
        tok = self.processor.tokenizer
        for cut in range(len(text), 0, -1):  # longest remembered reply that prefixes ``text``
            key = hashlib.sha1((prompt_key + "\0" + text[:cut]).encode()).hexdigest()
            ids = self._replies.get(key)
            if ids is not None:
                rest = text[cut:]
                return ids + (tok(rest, add_special_tokens=False)["input_ids"] if rest else [])
        return tok(text, add_special_tokens=False)["input_ids"]

    def complete(self, body: dict) -> dict:
        import torch

        from thinkvl.model.generate import eos_ids, extend_sample, sample_grouped, trim_at_eos
        from thinkvl.model.inputs import collect_media, encode_sample
        from thinkvl.model.settings import GenerationSettings

        if int(body.get("n", 1)) != 1:
            raise BadRequest("only n=1 is supported")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest("messages must be a non-empty list")
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 256)
        temperature = float(body.get("temperature", 1.0))
        top_p = float(body.get("top_p", 1.0))
        settings = GenerationSettings(temperature=temperature, top_p=top_p)
        prefix = ""
        if body.get("continue_final_message"):
            if messages[-1].get("role") != "assistant" or body.get("add_generation_prompt", False):
                raise BadRequest("continue_final_message needs a final assistant message and "
                                 "add_generation_prompt=false")
            prefix = messages[-1].get("content") or ""
            if not isinstance(prefix, str):
                prefix = "".join(p.get("text", "") for p in prefix)
            messages = messages[:-1]
        prompt = to_thinkvl_messages(messages)
        tok = self.processor.tokenizer
        with self.lock:
            media = collect_media(prompt)
            enc = encode_sample(self.processor, prompt, None, media=media)
            key = hashlib.sha1(json.dumps(enc.input_ids).encode()).hexdigest()
            prefix_ids = self._assistant_ids(key, prefix) if prefix else []
            if prefix_ids:
                enc = extend_sample(enc, prefix_ids)
            if body.get("seed") is not None:
                torch.manual_seed(int(body["seed"]))
            eos = eos_ids(self.model, tok)
            new = sample_grouped(self.model, [enc], max_tokens, settings, tok.pad_token_id)[0]
            new, done = trim_at_eos(new, eos, tok.pad_token_id)
            kept = [t for t in new if t not in eos]
            skip = bool(body.get("skip_special_tokens", False))
            text = tok.decode(kept, skip_special_tokens=skip)
            self._remember(key, prefix + text, prefix_ids + kept)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
            "created": int(time.time()), "model": self.name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop" if done else "length"}],
            "usage": {"prompt_tokens": len(enc.input_ids) - len(prefix_ids),
                      "completion_tokens": len(new),
                      "total_tokens": len(enc.input_ids) - len(prefix_ids) + len(new)},
        }


def _handler(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: Any) -> None:  # quiet by default
            log.debug("%s " + fmt, self.address_string(), *args)

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, kind: str) -> None:
            self._send(status, {"error": {"message": message, "type": kind, "code": status}})

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send(200, {"object": "list", "data": [
                    {"id": served.name, "object": "model", "owned_by": "thinkvl"}]})
            elif self.path.rstrip("/") == "/health":
                self._send(200, {"status": "ok"})
            else:
                self._error(404, f"no route {self.path}", "not_found")

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._error(404, f"no route {self.path}", "not_found")
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                self._send(200, served.complete(body))
            except (BadRequest, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                self._error(400, f"{type(exc).__name__}: {exc}", "invalid_request_error")
            except Exception as exc:  # the server must answer, not drop the connection
                log.exception("generation failed")
                self._error(500, f"{type(exc).__name__}: {exc}", "server_error")

    return Handler


class RunningServer:
    """A server in a background thread; ``url`` is its base URL (``…/v1``)."""

    def __init__(self, served: Served, host: str = "127.0.0.1", port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer((host, port), _handler(served))
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "RunningServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def load_served(model_path: str | Path, name: str | None = None, dtype: str | None = None,
                device: str | None = None) -> Served:
    from thinkvl.model.factory import load_model, load_processor

    model = load_model(model_path, dtype=dtype, device=device).eval()
    return Served(model, load_processor(model_path), name=name or Path(model_path).name)


def start_server(model, processor=None, host: str = "127.0.0.1", port: int = 0,
                 name: str = "thinkvl") -> RunningServer:
    """Serve a model folder (or a loaded model + processor) in a background thread."""
    if processor is None:
        served = load_served(model, name)
    else:
        served = Served(model.eval(), processor, name)
    return RunningServer(served, host, port)


def serve_forever(model_path: str | Path, host: str = "127.0.0.1", port: int = 8000,
                  name: str | None = None) -> None:
    """Serve until interrupted (what ``thinkvl eval serve`` runs)."""
    served = load_served(model_path, name)
    httpd = ThreadingHTTPServer((host, port), _handler(served))
    print(f"serving {model_path} as {served.name!r} at http://{host}:{httpd.server_address[1]}/v1",
          flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a Hugging Face model folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--name", default=None, help="served model name (default: folder name)")
    args = parser.parse_args(argv)
    serve_forever(args.model, args.host, args.port, args.name)


if __name__ == "__main__":
    main()
