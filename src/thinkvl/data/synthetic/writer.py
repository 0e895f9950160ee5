"""Files on disk: media under ``media/<domain>/`` and one JSON object per line.

Media paths in records are relative to the output folder (where the JSONL files live). Output is
byte-identical for the same inputs: PNGs carry no timestamps and JSON is written in a fixed key
order.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import TracebackType
from typing import Any

from .sample import Sample

MEDIA_DIR = "media"


class MediaWriter:
    """Saves a sample's pixels and returns the content item that points at them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = 0
        self._made: set[Path] = set()

    def _mkdir(self, folder: Path) -> None:
        if folder not in self._made:  # one mkdir per folder, not per file
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)

    def clear(self, domain: str) -> None:
        """Remove a previous run's media of ``domain`` so no stale file outlives its record."""
        shutil.rmtree(self.root / MEDIA_DIR / domain, ignore_errors=True)
        self._made.clear()

    def save(self, sample: Sample, stem: str) -> dict[str, str]:
        rel = f"{MEDIA_DIR}/{sample.domain}/{stem}"
        if sample.video:
            folder = self.root / rel
            folder.mkdir(parents=True, exist_ok=True)  # a fresh folder per video
            for i, frame in enumerate(sample.frames):
                frame.save(folder / f"frame_{i:03d}.png", format="PNG")
            self.files += len(sample.frames)
            return {"type": "video", "video": rel}
        path = self.root / f"{rel}.png"
        self._mkdir(path.parent)
        sample.frames[0].save(path, format="PNG")
        self.files += 1
        return {"type": "image", "image": f"{rel}.png"}


class JsonlWriter:
    """Appends records to a JSON Lines file, counting them per domain and per kind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.total = 0
        self.by_domain: dict[str, int] = {}
        self.by_kind: dict[str, int] = {}
        self._fh = path.open("w", encoding="utf-8", newline="\n")

    def write(self, record: dict[str, Any], domain: str, kind: str | None = None) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.total += 1
        self.by_domain[domain] = self.by_domain.get(domain, 0) + 1
        if kind is not None:
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1

    def counts(self) -> dict[str, Any]:
        out: dict[str, Any] = {"total": self.total, "by_domain": dict(self.by_domain)}
        if self.by_kind:
            out["by_kind"] = dict(sorted(self.by_kind.items()))
        return out

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
