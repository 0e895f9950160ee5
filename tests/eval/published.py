"""Write a few rows of a benchmark in its published hub layout (parquet shards with image
features, JSON, JSONL), images generated on the fly. Nothing is downloaded.

A uniquely named module, not conftest, so other test folders' conftests cannot shadow it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image


def png(color="red", size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def img(color="red", size=(64, 48), name="x.png") -> dict:
    """An image cell as ``datasets`` stores it."""
    return {"bytes": png(color, size), "path": name}


def hub_parquet(path: Path, rows: list[dict], images: tuple[str, ...] = ("image",)) -> Path:
    """``rows`` as a hub parquet shard: image columns typed as ``datasets.Image``."""
    import datasets

    datasets.disable_progress_bars()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = datasets.Dataset.from_list(rows)
    for name in images:
        if name in ds.column_names:
            ds = ds.cast_column(name, datasets.Image())
    ds.to_parquet(str(path))
    return path


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write_video(path: Path, frames: int = 4, size: int = 32) -> Path:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=2)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        for i in range(frames):
            pixels = np.full((size, size, 3), 60 * i, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def texts(item) -> str:
    return "".join(p.get("text", "") for m in item.prompt for p in m["content"]
                   if p.get("type") == "text")


def kinds(item) -> list[str]:
    return [p["type"] for m in item.prompt for p in m["content"]]
