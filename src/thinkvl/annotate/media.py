"""Media files: what a file is (by its bytes, not its name), its size and timing, safe paths
under the media root, and validated uploads.

Three kinds: ``image`` (PNG, JPEG, WebP, GIF), ``video`` (MP4/MOV, WebM; read with PyAV) and
``frames`` (a folder of frame images, thinkvl's own video format, taken at the project's
``media.frame_fps``). Paths stored in the database are relative to the media root, and every path
read back is checked to stay inside it.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from thinkvl.annotate.errors import MediaRejected, NotFound, TooLarge

FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
        "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}
EXT = {"png": ".png", "jpeg": ".jpg", "webp": ".webp", "gif": ".gif", "mp4": ".mp4",
       "mov": ".mov", "webm": ".webm"}
VIDEO_TYPES = ("mp4", "mov", "webm")
CHUNK = 1 << 20


@dataclass
class Probe:
    kind: str  # image | video | frames
    type: str | None  # png, mp4, … (None for frame folders)
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frames: int | None = None
    duration: float | None = None
    size_bytes: int | None = None

    @property
    def mime(self) -> str | None:
        return MIME.get(self.type or "")


def sniff(head: bytes) -> str | None:
    """The file type named by the leading bytes, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[4:8] == b"ftyp":
        return "mov" if head[8:10] == b"qt" else "mp4"
    return None


def resolve(root: Path, rel: str) -> Path:
    """``root / rel``, refusing anything that leaves the media root."""
    base = Path(root).resolve()
    path = (base / rel).resolve()
    if path != base and base not in path.parents:
        raise NotFound(f"media path {rel!r} is outside the media folder")
    return path


def frame_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES)


def confined_frames(root: Path, folder: Path) -> list[Path]:
    """A frame folder's frames, each resolved (symlinks followed) and kept only when it stays
    inside the media root: the folder was checked, its frames were not, and a
    ``frame_002.png -> /etc/passwd`` link was served (issue 20, finding 4)."""
    base = Path(root).resolve()
    out = []
    for frame in frame_files(folder):
        real = frame.resolve()
        if base in real.parents and real.is_file():
            out.append(frame)
    return out


def probe(path: Path, frame_fps: float = 2.0) -> Probe:
    """Read a file or frame folder's kind, size and timing; MediaRejected when unreadable."""
    if path.is_dir():
        frames = frame_files(path)
        if not frames:
            raise MediaRejected(f"{path.name}: the folder holds no frame images "
                                f"({', '.join(FRAME_SUFFIXES)})")
        w, h = _image_size(frames[0])
        return Probe("frames", None, w, h, frame_fps, len(frames), len(frames) / frame_fps,
                     sum(f.stat().st_size for f in frames))
    if not path.is_file():
        raise MediaRejected(f"{path}: no such file or folder")
    with path.open("rb") as fh:
        kind = sniff(fh.read(32))
    if kind is None:
        raise MediaRejected(f"{path.name}: not an image (PNG, JPEG, WebP, GIF) or a video "
                            "(MP4, MOV, WebM) by its contents")
    size = path.stat().st_size
    if kind in VIDEO_TYPES:
        return _video(path, kind, size)
    w, h = _image_size(path)
    return Probe("image", kind, w, h, size_bytes=size)


MAX_IMAGE_PIXELS = 64_000_000  # 8000 x 8000: more is a decompression bomb, not a photo


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            size = img.size
            if size[0] * size[1] > MAX_IMAGE_PIXELS:
                raise MediaRejected(f"{path.name}: {size[0]} x {size[1]} pixels is more than the "
                                    f"{MAX_IMAGE_PIXELS:,} an image may have")
            img.verify()
        return size
    except MediaRejected:
        raise
    except Image.DecompressionBombError as exc:  # a 500 before (issue 20, finding 10)
        raise MediaRejected(f"{path.name}: refused as a decompression bomb ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaRejected(f"{path.name}: not a readable image ({exc})") from None


def _video(path: Path, kind: str, size: int) -> Probe:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaRejected(f"{path.name}: the file has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps = float(rate) if rate else 25.0
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            else:
                duration = 0.0
            frames = stream.frames or round(duration * fps)
            if not frames:  # no index: count by decoding (short clips only reach here)
                frames = sum(1 for _ in container.decode(stream))
                duration = duration or frames / fps
            width, height = stream.codec_context.width, stream.codec_context.height
    except MediaRejected:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaRejected(f"{path.name}: not a readable video ({exc})") from None
    if duration <= 0 or frames <= 0:
        raise MediaRejected(f"{path.name}: the video has no frames")
    return Probe("video", kind, width, height, fps, int(frames), round(duration, 3), size)


def save_upload(stream: BinaryIO, filename: str, dest_dir: Path, *, allowed: list[str],
                max_bytes: int, frame_fps: float = 2.0) -> tuple[Path, Probe]:
    """Copy an upload into ``dest_dir`` under a fresh name after checking its type (by content
    and by name) and size; the file is removed again when anything is wrong."""
    head = stream.read(32)
    kind = sniff(head)
    ext = Path(filename or "").suffix.lower().lstrip(".").replace("jpg", "jpeg")
    if kind is None:
        raise MediaRejected(f"{filename!r} is not an image or video file that can be annotated "
                            f"(allowed: {', '.join(allowed)})")
    if kind not in allowed:
        raise MediaRejected(f"{filename!r} is a {kind.upper()} file; this project accepts "
                            f"{', '.join(allowed)}")
    if ext and ext != kind and not (kind == "mp4" and ext in ("m4v", "mov")) \
            and not (kind == "mov" and ext == "mp4"):
        raise MediaRejected(f"{filename!r} is named .{ext} but its contents are {kind.upper()}; "
                            "rename it or upload the intended file")
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{uuid.uuid4().hex}{EXT[kind]}"
    written = len(head)
    try:
        with dest.open("wb") as out:
            out.write(head)
            while chunk := stream.read(CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise TooLarge(f"{filename!r} is larger than this project's upload limit of "
                                   f"{max_bytes / 1e6:.1f} MB")
                out.write(chunk)
        info = probe(dest, frame_fps)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest, info


def copy_media(src: Path, dest: Path, root: Path) -> None:
    """Copy a file or frame folder (a copy, never a link: an export must not share inodes with
    the media people annotate). Of a frame folder only the frames that stay inside ``root``
    are copied: copytree followed a frame linked to /etc/passwd into the export."""
    if src.is_dir():
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for frame in confined_frames(root, src):
            shutil.copy2(frame, dest / frame.name)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
