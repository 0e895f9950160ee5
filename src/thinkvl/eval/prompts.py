"""What a model is shown: the mode-adjusted chat prompt, its decoded media, and its fingerprint.

Every backend receives the prompt built here, so the HF model, a vLLM engine and a remote
server see the same messages and the same pixels (frames sampled once, under the same caps).
The fingerprint hashes media *content*, so moving a benchmark folder does not invalidate
stored predictions, while changing a pixel does.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image

from thinkvl.eval.config import DirectSettings, VisionSettings
from thinkvl.model.generate import direct_prompt


def _append_instruction(prompt: list[dict], instruction: str) -> list[dict]:
    prompt = [dict(m) for m in prompt]
    last = prompt[-1]
    if isinstance(last["content"], str):
        last["content"] = f"{last['content'].rstrip()}\n{instruction}"
        return prompt
    parts = [dict(p) for p in last["content"]]
    texts = [p for p in parts if p.get("type") == "text"]
    if texts:
        texts[-1]["text"] = f"{texts[-1]['text'].rstrip()}\n{instruction}"
    else:
        parts.append({"type": "text", "text": instruction})
    last["content"] = parts
    return prompt


def apply_mode(prompt: list[dict], mode: str, direct: DirectSettings | None = None, family=None
               ) -> list[dict]:
    """The prompt of ``mode`` (``mode_prompt``'s messages)."""
    return mode_prompt(prompt, mode, direct, family)[0]


def mode_prompt(prompt: list[dict], mode: str, direct: DirectSettings | None = None, family=None
                ) -> tuple[list[dict], dict]:
    """``(messages, chat-template arguments)`` of ``prompt`` in ``mode``. ``direct`` follows the
    model family's hybrid-thinking convention when the backend knows the family (``family``:
    its adapter; ``/nothink``, or ``enable_thinking=False`` for a template that takes it), else
    appends /nothink to the last user turn (as ``thinkvl.model.generate`` does); models without a
    hybrid mode (``direct.style: instruction``) get their own direct-answer instruction."""
    if mode == "think":
        return prompt, {}
    if mode != "direct":
        raise ValueError(f"unknown mode {mode!r}; expected think or direct")
    direct = direct or DirectSettings()
    if direct.style == "instruction":
        return _append_instruction(prompt, direct.instruction), {}
    if family is not None:
        return family.direct_prompt(prompt)
    return direct_prompt(prompt), {}


def load_video(ref: Any, base_dir: str | None, vision: VisionSettings) -> list[Image.Image]:
    """Frames of a video part (``load_video_clip``'s)."""
    return load_video_clip(ref, base_dir, vision).frames


def load_video_clip(ref: Any, base_dir: str | None, vision: VisionSettings):
    """A video part (a file decoded at ``video_fps``, a frame folder or a frame list) as frames
    with their times, sampled uniformly down to ``max_frames`` when longer. Without
    ``max_frames``, the most frames the token cap can hold at the floor resolution bounds
    decoding ("no matter how long")."""
    from thinkvl.data.media import MIN_FRAME_PAIR_TOKENS, load_clip

    cap = vision.max_frames or max(2, vision.video_token_cap // MIN_FRAME_PAIR_TOKENS * 2)
    return load_clip(ref, base_dir, fps=vision.video_fps, max_frames=cap)


def resolve_media(prompt: list[dict], base_dir: str | None, vision: VisionSettings):
    """All images and videos of a prompt, decoded, in template order (a ``Media``)."""
    from thinkvl.data.media import load_image
    from thinkvl.model.inputs import Media

    media = Media()
    for message in prompt:
        content = message.get("content")
        if isinstance(content, str):
            continue
        for part in content or []:
            if part.get("type") == "image":
                media.images.append(load_image(part["image"], base_dir))
            elif part.get("type") == "video":
                clip = load_video_clip(part["video"], base_dir, vision)
                media.videos.append(clip.frames)
                media.timestamps.append(list(clip.timestamps))
    return media


@lru_cache(maxsize=4096)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _media_digest(ref: Any, base_dir: str | None) -> Any:
    if isinstance(ref, Image.Image):
        shape = repr((ref.size, ref.mode)).encode()
        return "pil:" + hashlib.sha1(ref.tobytes() + shape).hexdigest()
    if isinstance(ref, list):
        return [_media_digest(r, base_dir) for r in ref]
    if isinstance(ref, str) and ref.startswith("data:"):
        return "uri:" + hashlib.sha1(ref.encode()).hexdigest()
    if isinstance(ref, str):
        path = Path(ref) if base_dir is None or Path(ref).is_absolute() else Path(base_dir) / ref
        if path.is_file():
            st = path.stat()
            return "file:" + _file_digest(str(path.resolve()), st.st_size, st.st_mtime_ns)
        if path.is_dir():
            return ["file:" + _file_digest(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns)
                    for p in sorted(path.iterdir()) if p.is_file()]
        raise FileNotFoundError(f"media {path} does not exist")
    raise TypeError(f"unsupported media reference of type {type(ref).__name__}")


def prompt_fingerprint(prompt: list[dict], base_dir: str | None) -> str:
    """Hash of the messages with each image/video replaced by a hash of its content."""
    canon = []
    for message in prompt:
        content = message.get("content")
        if isinstance(content, list):
            parts = []
            for part in content:
                kind = part.get("type")
                if kind in ("image", "video"):
                    parts.append({"type": kind, "digest": _media_digest(part[kind], base_dir)})
                else:
                    parts.append(part)
            content = parts
        canon.append({"role": message.get("role"), "content": content})
    return hashlib.sha1(json.dumps(canon, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
