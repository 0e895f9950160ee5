"""Records → token samples for the supervised stages, with vision budgets enforced.

- pre-training (``kind`` + ``messages`` or ``text``): the document rendered with the model's chat
  template, loss on every text token and none on vision tokens;
- SFT (chat ending in an assistant turn): loss on the assistant's tokens only (``/nothink``
  samples carry an empty think block and teach the hybrid mode).

Images are resized by the processor to at most ``max_image_tokens``; videos are sampled at 2 fps
with timestamps (uniformly over the whole clip when too long) and resized to at most
``max_video_tokens``. Anything that still breaks a budget, cannot be decoded, or exceeds
``seq_len`` raises :class:`SampleError` with the record's ``file:line`` and a ``reason`` the
trainer counts when told to skip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from thinkvl.data.io import base_dir_of
from thinkvl.data.media import (
    MediaError,
    VideoClip,
    frame_size,
    load_clip,
    load_image,
    max_pixels_for_tokens,
    max_video_frames,
)
from thinkvl.data.packing import PackItem
from thinkvl.model.inputs import IGNORE, VISION_KEYS, Encoded, media_items, split_chat
from thinkvl.model.tokenizer import EOS


class SampleError(ValueError):
    """A record that cannot become a training sample; ``reason`` is bad_media, over_budget,
    too_long or bad_record."""

    def __init__(self, where: str, reason: str, message: str):
        self.where, self.reason = where, reason
        super().__init__(f"{where}: {reason}: {message}")


@dataclass(frozen=True)
class Budget:
    seq_len: int
    max_image_tokens: int
    max_video_tokens: int
    video_fps: float = 2.0
    min_frame_pair_tokens: int = 64


class SampleEncoder:
    """Callable turning one record into a :class:`PackItem` for ``stage`` (pretrain or sft)."""

    def __init__(self, processor, stage: str, budget: Budget, positions=None):
        if stage not in ("pretrain", "sft"):
            raise ValueError(f"unknown stage {stage!r}; expected pretrain or sft")
        self.processor, self.stage, self.budget, self.positions = processor, stage, budget, positions
        self.tokenizer = processor.tokenizer
        image = processor.image_processor
        self.patch = int(image.patch_size)
        self.merge = int(image.merge_size)
        self.temporal = int(getattr(image, "temporal_patch_size", 2) or 2)
        self.image_size = self._size(image, budget.max_image_tokens)
        video = getattr(processor, "video_processor", None)
        self.video_size = self._size(video, budget.max_video_tokens) if video is not None else None

    def _size(self, proc, tokens: int) -> dict:
        size = proc.size
        shortest = size.get("shortest_edge") if isinstance(size, dict) else getattr(size, "shortest_edge", None)
        return {"shortest_edge": shortest or 0,
                "longest_edge": max_pixels_for_tokens(tokens, self.patch, self.merge, self.temporal)}

    # -- records -------------------------------------------------------------------------------

    def __call__(self, record: dict) -> PackItem:
        where = record.get("_source") or record.get("id") or "record"
        try:
            sample = self._encode(record, base_dir_of(record))
        except SampleError:
            raise
        except (MediaError, FileNotFoundError, OSError) as exc:
            raise SampleError(where, "bad_media", str(exc)) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise SampleError(where, "bad_record", f"{type(exc).__name__}: {exc}") from exc
        self._check(sample, where)
        pos = self.positions(sample) if self.positions is not None else None
        return PackItem(sample=sample, positions=pos, key=record)

    def _encode(self, record: dict, base_dir: Path | None) -> Encoded:
        if self.stage == "sft":
            prompt, completion = split_chat(record["messages"])
            return self._chat(prompt, completion, base_dir)
        if "messages" in record:
            return self._document(record["messages"], base_dir)
        ids = self.tokenizer(record["text"] + EOS, add_special_tokens=True)["input_ids"]
        return Encoded(input_ids=ids, labels=list(ids), mm_token_type_ids=[0] * len(ids), prompt_len=0)

    def _document(self, messages: list[dict], base_dir) -> Encoded:
        """Pre-training: the whole rendered document is target text (vision tokens excepted)."""
        text = self.processor.apply_chat_template(messages, tokenize=False)
        if not text.endswith(EOS):
            text += EOS
        ids, mm, vision = self._process(text, messages, base_dir)
        labels = [t if m == 0 else IGNORE for t, m in zip(ids, mm)]
        return Encoded(input_ids=ids, labels=labels, mm_token_type_ids=mm, prompt_len=0, vision=vision)

    def _chat(self, prompt: list[dict], completion: str, base_dir) -> Encoded:
        """SFT: the prompt (with the generation cue) is context; the assistant text is the target."""
        text = self.processor.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
        ids, mm, vision = self._process(text, prompt, base_dir)
        out = self.tokenizer(completion + EOS, add_special_tokens=False)["input_ids"]
        return Encoded(input_ids=ids + out, labels=[IGNORE] * len(ids) + out,
                       mm_token_type_ids=mm + [0] * len(out), prompt_len=len(ids), vision=vision)

    # -- media ---------------------------------------------------------------------------------

    def _media(self, messages: list[dict], base_dir) -> tuple[list, list[VideoClip]]:
        images, videos = [], []
        for kind, ref in media_items(messages):
            if kind == "image":
                images.append(_image(ref, base_dir))
            else:
                videos.append(self._clip(ref, base_dir))
        return images, videos

    def _clip(self, ref, base_dir) -> VideoClip:
        """Sample at 2 fps; if even the floor resolution cannot hold every frame, sample the
        whole clip uniformly down to what the token budget allows."""
        w, h = frame_size(ref, base_dir)
        cap = max_video_frames(self.budget.max_video_tokens, h, w, self.patch, self.merge,
                               self.temporal, self.budget.min_frame_pair_tokens)
        return load_clip(ref, base_dir, self.budget.video_fps, max_frames=cap)

    def _process(self, text: str, messages: list[dict], base_dir) -> tuple[list[int], list[int], dict]:
        images, clips = self._media(messages, base_dir)
        kwargs: dict[str, Any] = {}
        if images:
            kwargs["images"] = images
            kwargs["images_kwargs"] = {"size": self.image_size}
        if clips:
            from transformers.video_utils import VideoMetadata

            kwargs["videos"] = [c.frames for c in clips]
            # timestamps = frames_indices / fps: millisecond indices carry the true frame times
            kwargs["video_metadata"] = [
                VideoMetadata(total_num_frames=len(c), fps=1000.0, duration=c.duration,
                              frames_indices=[round(t * 1000) for t in c.timestamps]) for c in clips]
            kwargs["do_sample_frames"] = False
            kwargs["videos_kwargs"] = {"size": self.video_size}
        enc = self.processor(text=[text], padding=False, **kwargs)
        ids = [int(t) for t in enc["input_ids"][0]]
        mm = [int(t) for t in enc["mm_token_type_ids"][0]] if "mm_token_type_ids" in enc else [0] * len(ids)
        vision = {k: torch.as_tensor(enc[k]) for k in VISION_KEYS if k in enc}
        return ids, mm, vision

    def _check(self, sample: Encoded, where: str) -> None:
        merge2 = self.merge * self.merge
        for grid in sample.vision.get("image_grid_thw", []):
            tokens = int(grid.prod()) // merge2
            if tokens > self.budget.max_image_tokens:
                raise SampleError(where, "over_budget", f"an image takes {tokens} vision tokens, "
                                  f"over the {self.budget.max_image_tokens} budget")
        for grid in sample.vision.get("video_grid_thw", []):
            tokens = int(grid.prod()) // merge2
            if tokens > self.budget.max_video_tokens:
                raise SampleError(where, "over_budget", f"a video takes {tokens} vision tokens, "
                                  f"over the {self.budget.max_video_tokens} budget")
        n = len(sample.input_ids)
        if n > self.budget.seq_len:
            raise SampleError(where, "too_long", f"{n} tokens exceed data.seq_len={self.budget.seq_len}; "
                              "raise seq_len, lower the vision budgets, or set data.skip_bad_media=true")


def _image(ref, base_dir):
    """An image, or a MediaError naming it (PIL's own messages do not say which file)."""
    try:
        return load_image(str(ref) if isinstance(ref, Path) else ref, base_dir)
    except FileNotFoundError as exc:
        raise MediaError(str(exc)) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        name = ref if not isinstance(ref, str) or not ref.startswith("data:") else "data URI"
        raise MediaError(f"image {name} cannot be decoded: {exc}") from exc
