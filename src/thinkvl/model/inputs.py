"""Turn chat records into model tensors: prompt tokens, completion tokens, vision inputs.

One place decides how a conversation becomes ``input_ids`` / ``labels`` / ``mm_token_type_ids``
and vision tensors, so pre-training, SFT, RL and evaluation all feed the model identically.
Prompts are rendered with the processor's own chat template; completions are tokenized on
their own and appended, so the loss mask is exact (no loss on prompts or vision tokens).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from thinkvl.data.media import VIDEO_FPS, load_image, load_video_frames
from thinkvl.model.tokenizer import EOS

IGNORE = -100


@dataclass
class Media:
    images: list[Image.Image] = field(default_factory=list)
    videos: list[list[Image.Image]] = field(default_factory=list)


def media_items(messages: list[dict]):
    """``(kind, ref)`` of every image and video of a conversation, in the order the chat
    template places their placeholders (kind is "image" or "video")."""
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            continue
        for item in content or []:
            if item.get("type") in ("image", "video"):
                yield item["type"], item[item["type"]]


def collect_media(messages: list[dict], base_dir: str | Path | None = None) -> Media:
    """All images and videos of a conversation, in the order the template places them."""
    media = Media()
    for kind, ref in media_items(messages):
        if kind == "image":
            media.images.append(load_image(ref, base_dir))
        else:
            media.videos.append(load_video_frames(ref, base_dir))
    return media


def _video_metadata(videos: list[list[Image.Image]]):
    from transformers.video_utils import VideoMetadata

    return [
        VideoMetadata(total_num_frames=len(v), fps=VIDEO_FPS, duration=len(v) / VIDEO_FPS,
                      frames_indices=list(range(len(v))))
        for v in videos
    ]


def process_prompt(processor, prompts: list[list[dict]], media: list[Media]) -> dict:
    """Render and tokenize a batch of prompts with their vision inputs (no padding)."""
    texts = [processor.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts]
    images = [img for m in media for img in m.images]
    videos = [v for m in media for v in m.videos]
    kwargs = {}
    if images:
        kwargs["images"] = images
    if videos:
        kwargs["videos"] = videos
        kwargs["video_metadata"] = _video_metadata(videos)
        kwargs["do_sample_frames"] = False
    enc = processor(text=texts, padding=False, **kwargs)
    return enc


@dataclass
class Encoded:
    """One sample: token ids, labels (IGNORE where no loss) and its vision tensors."""

    input_ids: list[int]
    labels: list[int]
    mm_token_type_ids: list[int]
    prompt_len: int
    vision: dict = field(default_factory=dict)  # pixel_values / image_grid_thw / …_videos


VISION_KEYS = ("pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw")


def encode_sample(processor, prompt: list[dict], completion: str | None, base_dir=None,
                  media: Media | None = None, add_eos: bool = True) -> Encoded:
    """Encode ``prompt`` (chat messages) plus an optional assistant ``completion`` string."""
    media = media if media is not None else collect_media(prompt, base_dir)
    enc = process_prompt(processor, [prompt], [media])
    ids = list(enc["input_ids"][0])
    mm = list(enc["mm_token_type_ids"][0])
    vision = {k: torch.as_tensor(enc[k]) for k in VISION_KEYS if k in enc}
    completion_ids: list[int] = []
    if completion is not None:
        completion_ids = processor.tokenizer(completion + (EOS if add_eos else ""), add_special_tokens=False)["input_ids"]
    return Encoded(
        input_ids=ids + completion_ids,
        labels=[IGNORE] * len(ids) + completion_ids,
        mm_token_type_ids=mm + [0] * len(completion_ids),
        prompt_len=len(ids),
        vision=vision,
    )


def split_chat(messages: list[dict]) -> tuple[list[dict], str]:
    """An SFT conversation as (prompt messages, final assistant text)."""
    if not messages or messages[-1].get("role") != "assistant":
        raise ValueError("an SFT conversation must end with an assistant message")
    content = messages[-1]["content"]
    if not isinstance(content, str):
        content = "".join(part.get("text", "") for part in content)
    return messages[:-1], content


def modality(sample: Encoded) -> str:
    """``video`` or ``image`` (text-only counts as image): GLM-4.1V marks video frames with the
    image placeholder token, so one forward pass cannot hold both kinds."""
    return "video" if "pixel_values_videos" in sample.vision else "image"


def group_by_modality(samples: list[Encoded]) -> list[list[int]]:
    """Indices of ``samples`` split into batches that one forward pass can take."""
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        if "pixel_values_videos" in s.vision and "pixel_values" in s.vision:
            raise ValueError("a sample with both images and a video is not supported by GLM-4.1V's "
                             "placeholder scheme; split it into two samples")
        groups.setdefault(modality(s), []).append(i)
    return list(groups.values())


def collate(samples: list[Encoded], pad_id: int, padding_side: str = "right") -> dict:
    """Pad a list of samples into a batch; vision tensors are concatenated in sample order."""
    width = max(len(s.input_ids) for s in samples)
    batch = {k: [] for k in ("input_ids", "labels", "attention_mask", "mm_token_type_ids")}
    for s in samples:
        pad = width - len(s.input_ids)
        rows = {
            "input_ids": (s.input_ids, pad_id),
            "labels": (s.labels, IGNORE),
            "attention_mask": ([1] * len(s.input_ids), 0),
            "mm_token_type_ids": (s.mm_token_type_ids, 0),
        }
        for key, (row, fill) in rows.items():
            batch[key].append(row + [fill] * pad if padding_side == "right" else [fill] * pad + row)
    out = {k: torch.tensor(v, dtype=torch.long) for k, v in batch.items()}
    for key in VISION_KEYS:
        parts = [s.vision[key] for s in samples if key in s.vision]
        if parts:
            out[key] = torch.cat(parts, dim=0)
    return out
