"""Where a record's media may come from, and (for ``thinkvl data check``) whether it decodes.

Why: a record is data someone else may have written. Its media paths are resolved with symlinks
followed and must stay inside the media roots — the data file's own folder plus any configured
``media_roots`` — or a record could make training (or a report) read ``/etc/shadow``,
``/proc/self/environ`` or a link out of the data folder. Only regular, non-empty files count.
``thinkvl data check`` also decodes every image fully and the first frame of every video, with
a pixel limit, so truncated files, non-images named ``.png``, decompression bombs and empty
MP4s are found before a run, located FILE:LINE, instead of mid-training.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

MAX_PIXELS = 64_000_000  # 8000 x 8000 per image or frame: more is a bomb, not training data
_DATA_URI_RE = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[\w.+-]+)*)(;base64)?,", re.I)
_MAGIC = (  # leading bytes of the image formats PIL and the processors read
    (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"),
    (b"GIF89a", "gif"), (b"BM", "bmp"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"),
)


@dataclass(frozen=True)
class MediaPolicy:
    """``roots``: folders media may live in besides the data file's own; ``decode``: open and
    decode every image and video (data check)."""

    roots: tuple[Path, ...] = ()
    decode: bool = False
    max_pixels: int = MAX_PIXELS

    def allowed_roots(self, base_dir: Path | str) -> list[str]:
        return [os.path.realpath(base_dir)] + [os.path.realpath(r) for r in self.roots]


def confine(ref_path: str, roots: list[str]) -> tuple[str | None, str | None]:
    """(real path, None) when ``ref_path`` resolves (symlinks followed) inside one of ``roots``,
    else (None, why)."""
    real = os.path.realpath(ref_path)
    for root in roots:
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            return real, None
    shown = ref_path if real == os.path.abspath(ref_path) else f"{ref_path} (-> {real})"
    return None, (f"{shown} is outside the media roots ({', '.join(roots)}); media must live "
                  "under the data file's folder or a configured media root (data check "
                  "--media-root, data.media_roots)")


def file_problem(real: str) -> str | None:
    """None for a regular, non-empty file; else what it is instead."""
    try:
        st = os.stat(real)
    except OSError as exc:
        return f"cannot read {real}: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return f"{real} is not a regular file"
    if st.st_size == 0:
        return f"{real} is empty"
    return None


def image_problem(source: str | bytes, max_pixels: int = MAX_PIXELS) -> str | None:
    """None when ``source`` (a path or the bytes of a data URI) decodes as an image within
    ``max_pixels``; else why not."""
    from PIL import Image

    name = "data URI" if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
                w, h = img.size
                if w * h > max_pixels:
                    return (f"{name}: {w} x {h} pixels is over the {max_pixels:,}-pixel limit "
                            "(a decompression bomb?)")
                img.load()  # the whole image: truncated and corrupt files fail here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return f"{name}: refused as a decompression bomb ({exc})"
    except (OSError, SyntaxError, ValueError, MemoryError) as exc:
        return f"{name}: not a decodable image ({type(exc).__name__}: {exc})"
    return None


def video_problem(real: str, max_pixels: int = MAX_PIXELS) -> str | None:
    """None when the file has a video stream whose first frame decodes within ``max_pixels``."""
    import av

    try:
        with av.open(real) as container:
            if not container.streams.video:
                return f"{real}: no video stream"
            stream = container.streams.video[0]
            w, h = stream.codec_context.width, stream.codec_context.height
            if w * h > max_pixels:
                return f"{real}: {w} x {h} frames are over the {max_pixels:,}-pixel limit"
            for _ in container.decode(stream):
                return None
            return f"{real}: no decodable frames"
    except (av.error.FFmpegError, OSError, ValueError, MemoryError) as exc:  # type: ignore[attr-defined]
        return f"{real}: not a decodable video ({type(exc).__name__}: {exc})"


def split_data_uri(ref: str) -> tuple[str, bytes]:
    """Decode ``data:<mime>;base64,<payload>`` into (mime, bytes); ValueError says what is wrong."""
    m = _DATA_URI_RE.match(ref)
    if not m:
        raise ValueError("malformed data URI (expected data:image/png;base64,...)")
    if not m.group(3):
        raise ValueError("data URI is not base64-encoded (expected ';base64,')")
    mime = (m.group(1) or "").lower()
    try:
        payload = base64.b64decode(ref[m.end():], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"data URI payload is not valid base64 ({exc})") from None
    return mime, payload


def image_format(head: bytes) -> str | None:
    """The image format named by the leading bytes, or None when unrecognised."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None
