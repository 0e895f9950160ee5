"""Prompt media as small embedded PNG thumbnails, each stored once however often it is shown.

The page must open from disk on another machine, so images travel inside it as data URIs. A
group of n rollouts shares one prompt image, so thumbnails are deduplicated: each becomes one
CSS class (``.m3{background-image:url(data:…)}``) that every rollout card references; the page
then stays small and needs no script to show its images.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".webm", ".mkv", ".avi", ".mov"}


@dataclass
class Thumb:
    """One picture to show: a CSS class holding the image, or a note why there is none."""

    css_class: str | None
    label: str
    note: str | None = None  # e.g. "missing file"


@dataclass
class ThumbnailCache:
    """Turns media references into deduplicated thumbnails; resolves relative paths against the
    run folder and its ancestors (trainers record paths relative to where they ran)."""

    roots: list[Path]
    size: int = 144
    frames: int = 4
    _classes: dict[tuple[str, int], str] = field(default_factory=dict)
    _styles: list[str] = field(default_factory=list)

    def resolve(self, ref: str) -> Path | None:
        path = Path(ref)
        if path.is_absolute():
            return path if path.exists() else None
        for root in self.roots:
            candidate = root / path
            if candidate.exists():
                return candidate
        return None

    def thumbs(self, ref: str) -> list[Thumb]:
        """Thumbnails for one reference: an image, or the first frames of a video/frame folder."""
        path = self.resolve(ref)
        name = Path(ref).name or ref
        if path is None:
            return [Thumb(None, name, "missing file")]
        if path.is_dir():
            frames = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not frames:
                return [Thumb(None, name, "no frames")]
            shown = [
                self._image(p, f"{name} · frame {i + 1}/{len(frames)}")
                for i, p in enumerate(frames[: self.frames])
            ]
            return shown
        if path.suffix.lower() in VIDEO_SUFFIXES:
            if (str(path), 0) not in self._classes:
                for i, data in enumerate(_video_pngs(path, self.frames, self.size)):
                    self._store((str(path), i), data)
            shown = [
                Thumb(self._classes[(str(path), i)], f"{name} · frame {i + 1}")
                for i in range(self.frames)
                if (str(path), i) in self._classes
            ]
            return shown or [Thumb(None, name, "not previewable")]
        return [self._image(path, name)]

    def _image(self, path: Path, label: str) -> Thumb:
        key = (str(path), 0)
        if key not in self._classes:
            data = _image_png(path, self.size)
            if data is None:
                return Thumb(None, label, "not previewable")
            self._store(key, data)
        return Thumb(self._classes[key], label)

    def _store(self, key: tuple[str, int], data: bytes) -> None:
        css = f"m{len(self._classes)}"
        self._classes[key] = css
        self._styles.append(
            f".{css}{{background-image:url(data:image/png;base64,"
            f"{base64.b64encode(data).decode('ascii')})}}"
        )

    def stylesheet(self) -> str:
        """The CSS classes of every thumbnail made so far (base64 only: safe inside <style>)."""
        return "\n".join(self._styles)


def _png(image, size: int) -> bytes:
    image = image.convert("RGB")
    image.thumbnail((size, size))
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _image_png(path: Path, size: int) -> bytes | None:
    try:
        from PIL import Image

        with Image.open(path) as image:
            image.seek(0)
            return _png(image, size)
    except Exception:  # noqa: BLE001 - any unreadable file is shown as "not previewable", never a crash
        return None


def _video_pngs(path: Path, count: int, size: int) -> list[bytes]:
    """The first ``count`` frames of a video file (PyAV), or none when it cannot be decoded."""
    out: list[bytes] = []
    try:
        import av

        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                out.append(_png(frame.to_image(), size))
                if len(out) >= count:
                    break
    except Exception:  # noqa: BLE001 - an undecodable video shows as not previewable
        return out
    return out
