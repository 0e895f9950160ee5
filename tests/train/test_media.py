"""Video sampling at 2 fps with timestamps, uniform sampling of long videos, budgets, bad media."""

from __future__ import annotations

import numpy as np
import pytest

from thinkvl.data.media import (
    MediaError,
    decode_clip,
    frame_size,
    frame_times,
    load_clip,
    max_pixels_for_tokens,
    max_video_frames,
    vision_tokens,
)


def _write_video(path, seconds: float, fps: int = 10, size: int = 32) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(int(seconds * fps)):
            img = np.full((size, size, 3), (i * 7) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_frame_times_two_fps_and_uniform_when_long():
    assert frame_times(2.0) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]  # 5 frames padded to an even 6
    long = frame_times(3600.0, max_frames=100)
    assert len(long) == 100
    assert long[0] < 36 and long[-1] > 3564  # spread over the whole hour
    gaps = np.diff(long)
    assert np.allclose(gaps, gaps[0])


def test_budget_arithmetic():
    assert max_pixels_for_tokens(6144, 14, 2) == 6144 * 14 * 14 * 4 * 2
    assert vision_tokens(2, 64, 64, 8, 2) == 16
    # 64×64 frames at patch 8 / merge 2 cost 16 tokens per frame pair: 48,000 tokens hold 6,000 frames
    assert max_video_frames(48000, 64, 64, 8, 2) == 6000
    # big frames are capped by the floor: 720p at patch 14 would be ~1,150 tokens a pair; at the
    # 64-token floor the budget holds 750 pairs
    assert max_video_frames(48000, 720, 1280, 14, 2, min_pair_tokens=64) == 1500


def test_decode_samples_two_fps_with_timestamps(tmp_path):
    path = tmp_path / "clip.mp4"
    _write_video(path, seconds=3.0)
    assert frame_size(path) == (32, 32)
    clip = decode_clip(path)
    assert len(clip) % 2 == 0
    assert clip.timestamps[:6] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5], abs=0.11)
    short = decode_clip(path, max_frames=4)  # "no matter how long": uniform over the clip
    assert len(short) == 4
    assert short.timestamps[0] < 0.6 and short.timestamps[-1] > 2.0


def test_corrupt_and_missing_media_raise_media_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(MediaError):
        decode_clip(bad)
    with pytest.raises(MediaError):
        load_clip("nope.mp4", tmp_path)


def test_frame_folder_long_is_subsampled(tmp_path):
    from PIL import Image

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(40):
        Image.new("RGB", (16, 16), (i * 6, 0, 0)).save(folder / f"{i:03d}.png")
    clip = load_clip(folder, max_frames=8)
    assert len(clip) == 8
    assert clip.timestamps[0] < 2.5 and clip.timestamps[-1] > 17.0  # spans the 20 s (2 fps) clip
