"""Vision-token budgets expressed the way processors take them: as pixel counts.

GLM-4.1V caps a single image at 6,144 vision tokens and a video at 48,000. A vision token is one
merged patch: ``merge²`` patches of ``patch²`` pixels, over ``temporal_patch`` frames. Processors
take ``max_pixels`` (summed over frames), so the cap becomes tokens × patch² × merge² × temporal.
"""

from __future__ import annotations

IMAGE_TOKEN_CAP = 6144
VIDEO_TOKEN_CAP = 48000


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


def decode_video(path, fps: float = 2.0, max_frames: int | None = None) -> list:
    """Decode a video file with PyAV at ``fps`` (2 by default, as GLM-4.1V samples video).

    Frames are picked by timestamp, so any container frame rate works; when the clip is long,
    ``max_frames`` frames are taken uniformly over the whole duration ("no matter how long").
    """
    import av  # PyAV: a maintained FFmpeg binding

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:  # type: ignore[attr-defined]
        raise ValueError(f"video {path} cannot be decoded: {exc}") from exc
    with container:
        stream = container.streams.video[0]
        frames = [(float(f.time or 0.0), f.to_image()) for f in container.decode(stream)]
    if not frames:
        raise ValueError(f"video {path} has no decodable frames")
    duration = frames[-1][0] + 1e-6
    wanted = max(1, int(duration * fps) + 1)
    if max_frames is not None:
        wanted = min(wanted, max_frames)
    wanted += wanted % 2  # the vision encoder consumes frames in pairs
    times = [duration * i / wanted for i in range(wanted)]
    picked, j = [], 0
    for t in times:
        while j + 1 < len(frames) and frames[j + 1][0] <= t:
            j += 1
        picked.append(frames[j][1].convert("RGB"))
    return picked
