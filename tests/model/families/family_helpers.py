"""Shared by the family tests: tiny builds cached per session, media, one-sample encoding."""

from __future__ import annotations

import torch
from PIL import Image

from thinkvl.model.families import FAMILIES, adapter_for

CORPUS = ["How many red squares are there?", "I count the red squares: 1, 2, 3.", "The text reads K 7 Q.",
          "Which direction does the square move? Left, right, up or down."] * 5
VIDEO_FAMILIES = tuple(f for f in FAMILIES if f not in ("gemma3", "idefics3"))


def image(width: int = 64, height: int = 48, color: str = "red") -> Image.Image:
    img = Image.new("RGB", (width, height), "white")
    img.paste(Image.new("RGB", (width // 2, height // 2), color), (width // 4, height // 4))
    return img


def frames(n: int = 4, size: int = 64) -> list[Image.Image]:
    return [image(size, size, c) for c in ("red", "blue", "green", "black", "red", "blue")[:n]]


class TinyFamilies:
    """Builds each family's tiny folder on first use and keeps it (and one loaded copy)."""

    def __init__(self, root):
        self.root = root
        self.paths: dict[str, object] = {}
        self.loaded: dict[str, tuple] = {}

    def path(self, name: str):
        if name not in self.paths:
            from thinkvl.model.factory import build_tiny
            from thinkvl.model.families.tiny import build_tiny_family

            out = self.root / name
            if name == "glm4v":  # the default family keeps its own builder (calibration off: speed)
                self.paths[name] = build_tiny(out, corpus=CORPUS, seed=0, calibrate=False)
            else:
                self.paths[name] = build_tiny_family(name, out, corpus=CORPUS, vocab_size=320)
        return self.paths[name]

    def processor(self, name: str):
        """A processor of its own (tests that change settings must not share one)."""
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(self.path(name))

    def load(self, name: str):
        """``(model, processor, adapter)``, shared: do not mutate."""
        if name not in self.loaded:
            from transformers import AutoModelForImageTextToText

            torch.manual_seed(0)
            model = AutoModelForImageTextToText.from_pretrained(self.path(name)).eval()
            processor = self.processor(name)
            self.loaded[name] = (model, processor, adapter_for(model.config, processor))
        return self.loaded[name]



def chat(images: int = 1, videos: int = 0, text: str = "How many squares?") -> list[dict]:
    content = [{"type": "image", "image": f"img{i}"} for i in range(images)]
    content += [{"type": "video", "video": f"vid{i}"} for i in range(videos)]
    return [{"role": "user", "content": [*content, {"type": "text", "text": text}]}]


def encode(adapter, images: list | None = None, videos: list | None = None, fps: float = 2.0,
           text: str = "How many squares?", **render_kwargs) -> dict:
    """One sample through the family's own template and processor, as tensors."""
    processor = adapter.processor
    messages = chat(len(images or []), len(videos or []), text)
    rendered = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False, **render_kwargs)
    kwargs = adapter.media_kwargs(images, videos, fps)
    return dict(processor(text=[rendered], return_tensors="pt", add_special_tokens=False, **kwargs))


def records_for(world, name: str, file: str, per_domain: int | None = None) -> str:
    """``file`` of the world with the records ``name`` can take (no video for image-only
    families; the first ``per_domain`` of each domain), written beside it (media paths stay
    relative to the world)."""
    import json

    from thinkvl.model.families import get_family

    rows = [json.loads(line) for line in (world / file).read_text().splitlines() if line.strip()]
    if not get_family(name).takes_video:
        rows = [r for r in rows if r.get("domain") != "video"]
    if per_domain:
        rows = [r for r in rows if sum(x["domain"] == r["domain"] for x in rows[:rows.index(r) + 1]) <= per_domain]
    out = world / f"{name}_{per_domain or 'all'}_{file}"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(out)
