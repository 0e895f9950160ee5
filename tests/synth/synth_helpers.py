"""Helpers for the synthetic-world tests: read JSONL, and recover objects from rendered pixels
independently of the generators' own bookkeeping."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from thinkvl.data.synthetic.draw import COLORS

PER_DOMAIN = 24  # records per domain in the session world (rl_eval: 16)


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def load(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def components(img: np.ndarray, color: str) -> list[tuple[int, int, int, int, int]]:
    """Connected blobs of exactly ``color``: (x1, y1, x2, y2, area), exclusive right/bottom."""
    mask = (img == np.array(COLORS[color], dtype=img.dtype)).all(-1)
    seen = np.zeros_like(mask)
    h, w = mask.shape
    blobs = []
    for y0, x0 in zip(*np.nonzero(mask)):
        if seen[y0, x0]:
            continue
        seen[y0, x0] = True
        queue, pts = deque([(y0, x0)]), []
        while queue:
            y, x = queue.popleft()
            pts.append((y, x))
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = y + dy, x + dx
                    if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
        ys, xs = [p[0] for p in pts], [p[1] for p in pts]
        blobs.append((min(xs), min(ys), max(xs) + 1, max(ys) + 1, len(pts)))
    return blobs


def shape_of(blob: tuple[int, int, int, int, int]) -> str:
    """Square, circle or triangle from how much of its bounding box a blob fills."""
    x1, y1, x2, y2, area = blob
    fill = area / ((x2 - x1) * (y2 - y1))
    return "square" if fill > 0.95 else "circle" if fill > 0.65 else "triangle"
