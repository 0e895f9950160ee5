"""Vision caps applied to the pixels themselves, before any backend sees them.

The HF backend caps its processor (``cap_processor``), but a server applies its own processor
settings, so a request could carry more vision tokens than the caps allow. Every backend
therefore hands over images and video frames already shrunk to the size the capped processor
would resize them to (6,144 tokens per image, 48,000 per video by default), and the same
pixels reach the HF processor, vLLM and a remote server alike. Media within the caps is passed
through untouched (each processor then does its usual rounding).

That is the GLM-4.1V / Qwen arithmetic (max pixels from patch and merge sizes). Other families
count vision in their own units (crop grids, tiles, a fixed cost per image): their processor copy
is capped by the family adapter (``Family.cap_image_tokens``), and a video keeps at most as many
frames as the video cap holds at the family's cost per frame (``Family.frame_tokens``), sampled
uniformly with their times.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

from PIL import Image

from thinkvl.data.media import max_pixels_for_tokens
from thinkvl.eval.config import VisionSettings
from thinkvl.model.inputs import Media


def _target(proc, frames: int, width: int, height: int, max_pixels: int) -> tuple[int, int] | None:
    """(width, height) the capped processor would resize to, or None when no shrink is needed."""
    from transformers.models.glm4v.image_processing_glm4v import smart_resize

    patch, merge = getattr(proc, "patch_size", None), getattr(proc, "merge_size", None)
    if not patch or not merge:
        return None
    temporal = getattr(proc, "temporal_patch_size", 2) or 2
    if max(frames, temporal) * height * width <= max_pixels:  # within the cap: only rounding left,
        return None  # which each processor does itself
    size = dict(getattr(proc, "size", None) or {})
    min_pixels = size.get("shortest_edge") or 0
    h, w = smart_resize(num_frames=max(frames, temporal), height=height, width=width, temporal_factor=temporal,
                        factor=patch * merge, min_pixels=min_pixels, max_pixels=max_pixels)
    return (w, h) if (w, h) != (width, height) else None


def vision_pixels(processor, vision: VisionSettings) -> dict[str, int | None]:
    """The image and video caps of ``vision`` as max pixels for this processor's patching."""
    out: dict[str, int | None] = {"image_max_pixels": None, "video_max_pixels": None}
    for key, sub, cap in (("image_max_pixels", "image_processor", vision.image_token_cap),
                          ("video_max_pixels", "video_processor", vision.video_token_cap)):
        proc = getattr(processor, sub, None)
        patch, merge = getattr(proc, "patch_size", None), getattr(proc, "merge_size", None)
        if proc is not None and patch and merge:
            temporal = getattr(proc, "temporal_patch_size", 2) or 2
            out[key] = max_pixels_for_tokens(cap, patch, merge, temporal)
    return out


def _pixel_patching(processor) -> bool:
    proc = getattr(processor, "image_processor", None)
    return bool(getattr(proc, "patch_size", None) and getattr(proc, "merge_size", None))


def cap_processor(processor, vision: VisionSettings, model=None):
    """A shallow copy of ``processor`` whose image/video processors respect the token caps
    (``model``: whose config a family's cap may have to follow, LLaVA-OneVision's crop grids)."""
    if not _pixel_patching(processor):
        from thinkvl.model.families import as_adapter

        processor = copy.copy(processor)
        processor.image_processor = copy.deepcopy(processor.image_processor)
        adapter = as_adapter(processor, model)
        if vision.image_token_cap < adapter.budget().max_image_tokens:
            adapter.cap_image_tokens(vision.image_token_cap)
        return processor
    pixels = vision_pixels(processor, vision)
    processor = copy.copy(processor)
    for sub, key in (("image_processor", "image_max_pixels"),
                     ("video_processor", "video_max_pixels")):
        proc, cap = getattr(processor, sub, None), pixels[key]
        if proc is None or cap is None:
            continue
        proc = copy.copy(proc)
        size = dict(getattr(proc, "size", None) or {})
        if "longest_edge" in size:
            size["longest_edge"] = cap
            proc.size = size
        if hasattr(proc, "max_pixels"):
            proc.max_pixels = cap
        setattr(processor, sub, proc)
    return processor


def glm41v_geometry():
    """A stand-in processor with GLM-4.1V's patching (14 px patches, 2×2 merge, 2 frames per
    temporal patch), for backends that have no processor of their own (a remote server)."""
    sub = SimpleNamespace(patch_size=14, merge_size=2, temporal_patch_size=2, size={"shortest_edge": 112 * 112})
    return SimpleNamespace(image_processor=sub, video_processor=sub)


def cap_media(media: Media, processor, vision: VisionSettings) -> Media:
    """``media`` with every image and video shrunk to within the vision caps (``processor``:
    whose patching the caps are counted in; None: GLM-4.1V's)."""
    processor = processor if processor is not None else glm41v_geometry()
    if not _pixel_patching(processor):
        return _cap_frames(media, processor, vision)

    pixels = vision_pixels(processor, vision)
    out = Media()
    image_proc = getattr(processor, "image_processor", None)
    for img in media.images:
        size = pixels["image_max_pixels"] and _target(image_proc, 1, *img.size, pixels["image_max_pixels"])
        out.images.append(img.resize(size, Image.BICUBIC) if size else img)
    video_proc = getattr(processor, "video_processor", None)
    for frames in media.videos:
        size = None
        if frames and pixels["video_max_pixels"]:
            size = _target(video_proc, len(frames), *frames[0].size, pixels["video_max_pixels"])
        out.videos.append([f.resize(size, Image.BICUBIC) for f in frames] if size else list(frames))
    out.timestamps = list(media.timestamps)
    return out


def _cap_frames(media: Media, processor, vision: VisionSettings) -> Media:
    """A family without pixel arithmetic: images as they are (its capped processor sizes them),
    each video down to the frames the video cap holds at the family's cost per frame."""
    from thinkvl.data.media import frame_times
    from thinkvl.model.families import as_adapter

    adapter = as_adapter(processor)
    out = Media(images=list(media.images))
    times = media.timestamps or [None] * len(media.videos)
    for frames, stamps in zip(media.videos, list(times) + [None] * (len(media.videos) - len(times))):
        stamps = list(stamps) if stamps else [i / vision.video_fps for i in range(len(frames))]
        keep = list(range(len(frames)))
        if frames and adapter.takes_video:
            most = max(2, int(vision.video_token_cap // max(adapter.frame_tokens(frames[0].height, frames[0].width),
                                                               1e-9)))
            if len(frames) > most:
                span = stamps[-1] - stamps[0]
                wanted = [stamps[0] + t for t in frame_times(span, max_frames=most, multiple=1)][:most]
                keep = [min(range(len(stamps)), key=lambda i: abs(stamps[i] - t)) for t in wanted]
        out.videos.append([frames[i] for i in keep])
        out.timestamps.append([stamps[i] for i in keep])
    return out
