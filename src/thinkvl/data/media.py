"""Vision-token budgets, and video sampling that respects them.

GLM-4.1V caps a single image at 6,144 vision tokens and a video at 48,000. A vision token is one
merged patch: ``merge²`` patches of ``patch²`` pixels, over ``temporal_patch`` frames. Processors
take ``max_pixels`` (summed over frames), so the cap becomes tokens × patch² × merge² × temporal.

Video is sampled at 2 fps with the timestamp of every kept frame; a video too long for the budget
is sampled uniformly over its whole duration ("no matter how long the video"), keeping frames at a
floor resolution instead of shrinking them to nothing. Decoding uses PyAV and keeps only the
frames it needs, so an hour-long file never sits in memory. Unreadable media raise
:class:`MediaError`, which callers turn into an error or a counted skip.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_TOKEN_CAP = 6144
VIDEO_TOKEN_CAP = 48000
VIDEO_FPS = 2.0
# Fewest vision tokens a pair of frames may shrink to before frames are dropped instead:
# 64 tokens is 224×224 pixels at GLM-4.1V's patch 14 / merge 2.
MIN_FRAME_PAIR_TOKENS = 64
_FRAME_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


class MediaError(ValueError):
    """An image or video that cannot be used (missing, corrupt, or over its token budget)."""


def max_pixels_for_tokens(tokens: int, patch: int, merge: int, temporal_patch: int = 2) -> int:
    """Largest pixel count (frames × height × width) that stays within ``tokens`` vision tokens."""
    if tokens <= 0 or patch <= 0 or merge <= 0 or temporal_patch <= 0:
        raise ValueError(
            f"vision budget needs positive numbers, got tokens={tokens}, patch={patch}, "
            f"merge={merge}, temporal_patch={temporal_patch}"
        )
    return tokens * patch * patch * merge * merge * temporal_patch


def vision_tokens(frames: int, height: int, width: int, patch: int, merge: int, temporal_patch: int = 2) -> int:
    """Vision tokens a (resized) input of this shape produces; frames are padded to temporal_patch."""
    t = max(1, -(-frames // temporal_patch))
    return t * (height // patch) * (width // patch) // (merge * merge)


def max_video_frames(token_budget: int, height: int, width: int, patch: int, merge: int,
                     temporal_patch: int = 2, min_pair_tokens: int = MIN_FRAME_PAIR_TOKENS) -> int:
    """How many frames a video of this frame size may keep within ``token_budget``.

    Each ``temporal_patch`` frames cost the tokens of one frame at its native size (rounded to the
    patch grid), but never less than ``min_pair_tokens``: past that, frames are dropped (sampled
    uniformly) rather than shrunk further. Always an even number ≥ ``temporal_patch``.
    """
    factor = patch * merge
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    native = vision_tokens(temporal_patch, h, w, patch, merge, temporal_patch)
    per_group = max(1, min(native, min_pair_tokens))
    groups = max(1, token_budget // per_group)
    return groups * temporal_patch


def frame_times(duration: float, fps: float = VIDEO_FPS, max_frames: int | None = None,
                multiple: int = 2) -> list[float]:
    """Timestamps (seconds) to sample: every 1/fps s, or ``max_frames`` spread uniformly over the
    whole clip when that is fewer. The count is rounded up to a multiple of ``multiple`` (the
    encoder takes frames in pairs); the last timestamp is repeated to fill it."""
    if duration < 0 or fps <= 0:
        raise ValueError(f"frame sampling needs duration ≥ 0 and fps > 0, got {duration}, {fps}")
    n = max(1, int(duration * fps + 1e-6) + 1)
    if max_frames is not None and n > max_frames:
        n = max(1, max_frames)
        times = [duration * (i + 0.5) / n for i in range(n)]
    else:
        times = [i / fps for i in range(n)]
    while len(times) % multiple:
        times.append(times[-1])
    return times


@dataclass
class VideoClip:
    """Sampled frames (PIL images) and the time of each in the source, in seconds."""

    frames: list = field(default_factory=list)
    timestamps: list[float] = field(default_factory=list)
    duration: float = 0.0

    def __len__(self) -> int:
        return len(self.frames)


def _pick(times: list[float], stamped: list[tuple[float, object]]) -> list[int]:
    """For each wanted time, the index of the last frame at or before it (the first if none)."""
    out, j = [], 0
    for t in times:
        while j + 1 < len(stamped) and stamped[j + 1][0] <= t + 1e-6:
            j += 1
        out.append(j)
    return out


def decode_clip(path: str | Path, fps: float = VIDEO_FPS, max_frames: int | None = None) -> VideoClip:
    """Decode a video file with PyAV, keeping only the frames at the sampled timestamps."""
    import av  # PyAV: a maintained FFmpeg binding

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:  # type: ignore[attr-defined]
        raise MediaError(f"video {path} cannot be opened: {exc}") from exc
    with container:
        if not container.streams.video:
            raise MediaError(f"{path} has no video stream")
        stream = container.streams.video[0]
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        if duration is not None:
            return _decode_known(container, stream, path, duration, fps, max_frames)
        # Unknown length (some streams): two passes over timestamps are not possible, so decode
        # all frames once, keeping only their timestamps and images lazily converted.
        try:
            stamped = [(float(f.time or 0.0), f) for f in container.decode(stream)]
        except av.error.FFmpegError as exc:  # type: ignore[attr-defined]
            raise MediaError(f"video {path} is corrupt: {exc}") from exc
    if not stamped:
        raise MediaError(f"video {path} has no decodable frames")
    duration = stamped[-1][0]
    times = frame_times(duration, fps, max_frames)
    idx = _pick(times, stamped)
    return VideoClip([stamped[i][1].to_image().convert("RGB") for i in idx],
                     [stamped[i][0] for i in idx], duration)


def _decode_known(container, stream, path, duration: float, fps: float,
                  max_frames: int | None) -> VideoClip:
    """One streaming pass: for each wanted time keep the last frame at or before it."""
    import av

    times = frame_times(duration, fps, max_frames)
    frames: list = []
    stamps: list[float] = []
    last = None  # (time, frame, converted image or None)

    def take(entry) -> None:
        if entry[2] is None:
            entry[2] = entry[1].to_image().convert("RGB")
        frames.append(entry[2])
        stamps.append(entry[0])

    try:
        for frame in container.decode(stream):
            t = float(frame.time or 0.0)
            entry = [t, frame, None]
            while len(frames) < len(times) and times[len(frames)] < t - 1e-6:
                take(last if last is not None else entry)
            last = entry
            if len(frames) >= len(times):
                break
    except av.error.FFmpegError as exc:  # type: ignore[attr-defined]
        raise MediaError(f"video {path} is corrupt: {exc}") from exc
    if last is None:
        raise MediaError(f"video {path} has no decodable frames")
    while len(frames) < len(times):  # wanted times at or after the last frame
        take(last)
    return VideoClip(frames, stamps, duration)


def load_frame_folder(path: str | Path, folder_fps: float = VIDEO_FPS,
                      max_frames: int | None = None) -> VideoClip:
    """A folder of frame images taken as sampled at ``folder_fps``; long ones are subsampled
    uniformly down to ``max_frames`` with their true timestamps."""
    from PIL import Image

    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in _FRAME_SUFFIXES)
    if not files:
        raise MediaError(f"video folder {path} holds no frames")
    stamped = [(i / folder_fps, f) for i, f in enumerate(files)]
    duration = stamped[-1][0]
    if max_frames is None or len(files) <= max_frames:
        idx = list(range(len(files)))
        if len(idx) % 2:
            idx.append(idx[-1])
    else:
        idx = _pick(frame_times(duration, folder_fps, max_frames), stamped)
    frames = []
    for i in idx:
        try:
            with Image.open(stamped[i][1]) as img:
                frames.append(img.convert("RGB"))
        except OSError as exc:
            raise MediaError(f"video frame {stamped[i][1]} cannot be read: {exc}") from exc
    return VideoClip(frames, [stamped[i][0] for i in idx], duration)


def frame_size(ref, base_dir: str | Path | None = None) -> tuple[int, int]:
    """(width, height) of a video's frames without decoding it (container metadata, or the
    first image of a frame folder / list)."""
    from PIL import Image

    if isinstance(ref, list):
        first = ref[0]
        if isinstance(first, Image.Image):
            return first.size
        ref_path = Path(first) if base_dir is None or Path(first).is_absolute() else Path(base_dir) / first
        with Image.open(ref_path) as img:
            return img.size
    path = Path(ref) if base_dir is None or Path(ref).is_absolute() else Path(base_dir) / ref
    if not path.exists():
        raise MediaError(f"video {path} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in _FRAME_SUFFIXES)
        if not files:
            raise MediaError(f"video folder {path} holds no frames")
        try:
            with Image.open(files[0]) as img:
                return img.size
        except OSError as exc:
            raise MediaError(f"video frame {files[0]} cannot be read: {exc}") from exc
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path} has no video stream")
            ctx = container.streams.video[0].codec_context
            return int(ctx.width), int(ctx.height)
    except (av.error.FFmpegError, OSError) as exc:  # type: ignore[attr-defined]
        raise MediaError(f"video {path} cannot be opened: {exc}") from exc


def load_clip(ref, base_dir: str | Path | None = None, fps: float = VIDEO_FPS,
              max_frames: int | None = None) -> VideoClip:
    """A video from a file (PyAV), a frame folder, or a list of frames (taken at 2 fps)."""
    if isinstance(ref, list):
        frames = [load_image(str(f) if isinstance(f, Path) else f, base_dir) for f in ref]
        if max_frames is not None and len(frames) > max_frames:
            stamped = [(i / VIDEO_FPS, f) for i, f in enumerate(frames)]
            idx = _pick(frame_times(stamped[-1][0], VIDEO_FPS, max_frames), stamped)
        else:
            idx = list(range(len(frames))) + ([len(frames) - 1] if len(frames) % 2 else [])
        return VideoClip([frames[i] for i in idx], [i / VIDEO_FPS for i in idx],
                         (len(frames) - 1) / VIDEO_FPS)
    path = Path(ref) if base_dir is None or Path(ref).is_absolute() else Path(base_dir) / ref
    if not path.exists():
        raise MediaError(f"video {path} does not exist")
    if path.is_dir():
        return load_frame_folder(path, VIDEO_FPS, max_frames)
    return decode_clip(path, fps, max_frames)


def decode_video(path, fps: float = VIDEO_FPS, max_frames: int | None = None) -> list:
    """Frames of a video file sampled at ``fps`` (uniformly over the clip past ``max_frames``)."""
    return decode_clip(path, fps, max_frames).frames


def load_image(ref, base_dir: str | Path | None = None):
    """An image from a PIL image, a path (relative to ``base_dir``) or a ``data:`` URI."""
    from PIL import Image

    if isinstance(ref, Image.Image):
        return ref.convert("RGB")
    if isinstance(ref, Path):
        ref = str(ref)
    if not isinstance(ref, str):
        raise TypeError(f"image must be a path, data URI or PIL image, got {type(ref).__name__}")
    if ref.startswith("data:"):
        _, _, payload = ref.partition(",")
        return Image.open(io.BytesIO(base64.b64decode(payload))).convert("RGB")
    path = Path(ref) if base_dir is None or Path(ref).is_absolute() else Path(base_dir) / ref
    if not path.exists():
        raise FileNotFoundError(f"image {path} does not exist")
    with Image.open(path) as img:
        return img.convert("RGB")


def load_video_frames(ref, base_dir: str | Path | None = None) -> list:
    """Frames of a video: a list of images, a frame folder, or a video file (decoded with PyAV)."""
    if isinstance(ref, list):
        return [load_image(f, base_dir) for f in ref]
    path = Path(ref) if base_dir is None or Path(ref).is_absolute() else Path(base_dir) / ref
    if path.is_dir():
        frames = sorted(p for p in path.iterdir() if p.suffix.lower() in _FRAME_SUFFIXES)
        if not frames:
            raise ValueError(f"video folder {path} holds no frames")
        return [load_image(p) for p in frames]
    if not path.exists():
        raise FileNotFoundError(f"video {path} does not exist")
    return decode_video(path)


