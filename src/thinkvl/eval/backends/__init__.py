"""Generation backends behind one interface: HF (local, batched), vLLM (GPU), OpenAI-compatible.

A backend turns prepared requests (mode-adjusted chat messages plus their decoded media) into
outputs, applying the same decoding settings and GLM-4.1V's force-answering: after
``think_budget`` tokens without an end, ``</think><answer>`` is appended (if the think block never
closed) and the model gets ``answer_budget`` more tokens. Servers see images as base64 PNG data
URIs and videos as ``data:video/jpeg;base64,<frame>,<frame>,…`` (vLLM's frame-list convention),
the same pixels the HF backend feeds its processor.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any, Protocol

from PIL import Image

from thinkvl.eval.config import GenerationSettings
from thinkvl.format import FORCE_ANSWER_SUFFIX, THINK_CLOSE, THINK_OPEN


@dataclass
class Request:
    prompt: list[dict]  # chat messages, the mode already applied (/nothink or the model's own way)
    media: Any  # thinkvl.model.inputs.Media: decoded images and video frames, template order
    template_kwargs: dict = field(default_factory=dict)  # chat-template arguments of the mode
                                                         # (a family's enable_thinking=False)
    where: str | None = None  # names the item in errors (benchmark:id)


@dataclass
class Output:
    text: str
    forced: bool = False  # the answer was forced after the think budget ran out
    truncated: bool = False  # no end of sequence within the budgets
    tokens: int | None = None  # completion tokens, where the backend knows them
    error: str | None = None  # generation failed (not stored, retried by the next run)


class Backend(Protocol):
    name: str
    batch_size: int  # requests handed over per call; predictions are stored after each call

    def model_fingerprint(self) -> str: ...

    def info(self) -> dict[str, Any]: ...

    def generate(self, requests: list[Request], gen: GenerationSettings,
                 mode: str) -> list[Output]: ...

    def close(self) -> None: ...


def image_data_uri(image: Image.Image, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    mime = "image/png" if fmt == "PNG" else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode()}"


def video_data_uri(frames: list[Image.Image], fmt: str = "PNG") -> str:
    """vLLM's frame-list video URI. PNG frames (lossless) keep pixels identical to the HF path;
    PIL and vLLM detect the frame format from the bytes."""
    payload = []
    for frame in frames:
        buf = io.BytesIO()
        frame.convert("RGB").save(buf, format=fmt)
        payload.append(base64.b64encode(buf.getvalue()).decode())
    return "data:video/jpeg;base64," + ",".join(payload)


def to_openai_messages(request: Request, frame_format: str = "PNG") -> list[dict]:
    """The request as OpenAI chat messages: text parts, ``image_url`` and ``video_url`` parts."""
    images = iter(request.media.images)
    videos = iter(request.media.videos)
    out = []
    for message in request.prompt:
        content = message.get("content")
        if isinstance(content, str):
            out.append({"role": message["role"], "content": content})
            continue
        parts = []
        for part in content or []:
            kind = part.get("type")
            if kind == "text":
                parts.append({"type": "text", "text": part["text"]})
            elif kind == "image":
                url = image_data_uri(next(images))
                parts.append({"type": "image_url", "image_url": {"url": url}})
            elif kind == "video":
                parts.append({"type": "video_url",
                              "video_url": {"url": video_data_uri(next(videos), frame_format)}})
        out.append({"role": message["role"], "content": parts})
    return out


def needs_answer(text: str, finished: bool) -> tuple[str, bool]:
    """Force-answering on a server's first reply: (text to continue from, forced?)."""
    if finished or THINK_CLOSE in text:
        return text, False
    return text + FORCE_ANSWER_SUFFIX, True


def join_reasoning(message: dict) -> str:
    """Servers run with a reasoning parser return the think block separately; put it back."""
    content = message.get("content") or ""
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning and THINK_OPEN not in content:
        return f"{THINK_OPEN}{reasoning}{THINK_CLOSE}{content}"
    return content
