"""Records → token samples for the supervised stages, with vision budgets enforced.

- pre-training (``kind`` + ``messages`` or ``text``): the document rendered with the model's chat
  template, loss on every text token and none on vision tokens;
- SFT (chat ending in an assistant turn): loss on the assistant's tokens only (``/nothink``
  samples carry an empty think block and teach the hybrid mode).

Budgets are in each family's own units, applied through its adapter (``model.families``): the
processor is capped so one image takes at most ``max_image_tokens`` (``Family.cap_image_tokens``:
max pixels for GLM/Qwen, crop grids, tiles); videos are sampled at ``video_fps`` with the time of
every kept frame passed to the processor (uniformly over the whole clip when too long), the frame
count bounded by what ``max_video_tokens`` holds (GLM/Qwen: frames shrink to a floor resolution
first; other families: ``Family.frame_tokens`` per frame). Anything that still breaks a budget,
cannot be decoded, does not place its media in the prompt, or exceeds ``seq_len`` raises
:class:`SampleError` with the record's ``file:line`` and a ``reason`` the trainer counts when told
to skip.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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
from thinkvl.model.families import as_adapter
from thinkvl.model.families.batching import Unit
from thinkvl.model.inputs import IGNORE, Encoded, Media, media_items, process_text, render_prompt, split_chat
from thinkvl.model.families.chat import render


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
    """Callable turning one record into a :class:`PackItem` for ``stage`` (pretrain or sft).

    ``processor``: the family adapter (``adapter_for(model, processor)``) or a processor. The
    adapter's processor is copied before its caps are set, so the caller's is never changed."""

    def __init__(self, processor, stage: str, budget: Budget, positions=None):
        if stage not in ("pretrain", "sft"):
            raise ValueError(f"unknown stage {stage!r}; expected pretrain or sft")
        self.stage, self.budget, self.positions = stage, budget, positions
        adapter = as_adapter(processor)
        self.pixels = adapter.budget().unit == "pixels"
        self.adapter = type(adapter)(adapter.config, copy.copy(adapter.processor), adapter.generation_config)
        self.processor = self.adapter.processor
        self.tokenizer = self.adapter.tokenizer
        self.processor.image_processor = copy.deepcopy(self.processor.image_processor)
        try:
            if budget.max_image_tokens < self.adapter.budget().max_image_tokens:
                self.adapter.cap_image_tokens(budget.max_image_tokens)
        except ValueError as err:
            raise ValueError(f"data.max_image_tokens={budget.max_image_tokens}: {err}") from err
        video = getattr(self.processor, "video_processor", None)
        self.video_size = None
        if self.pixels and video is not None:
            image = self.processor.image_processor
            self.patch, self.merge = int(image.patch_size), int(image.merge_size)
            self.temporal = int(getattr(image, "temporal_patch_size", 2) or 2)
            shortest = dict(video.size).get("shortest_edge") or 0
            self.video_size = {"shortest_edge": shortest, "longest_edge": max_pixels_for_tokens(
                budget.max_video_tokens, self.patch, self.merge, self.temporal)}

    # -- records -------------------------------------------------------------------------------

    def __call__(self, record: dict) -> PackItem:
        where = record.get("_source") or record.get("id") or "record"
        try:
            sample = self._encode(record, base_dir_of(record), where)
        except SampleError:
            raise
        except (MediaError, FileNotFoundError, OSError) as exc:
            raise SampleError(where, "bad_media", str(exc)) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise SampleError(where, "bad_record", f"{type(exc).__name__}: {exc}") from exc
        self._check(sample, where)
        pos = self.positions(sample) if self.positions is not None else None
        key = self.adapter.batch_key(sample)
        return PackItem(sample=sample, positions=pos, key=record, batch="/".join(map(str, key)) or "any")

    def _encode(self, record: dict, base_dir: Path | None, where: str) -> Encoded:
        if self.stage == "sft":
            prompt, completion = split_chat(record["messages"])
            return self._chat(prompt, completion, base_dir, where)
        if "messages" in record:
            return self._document(record["messages"], base_dir, where)
        eos = self.tokenizer.eos_token or ""
        ids = self.tokenizer(record["text"] + eos, add_special_tokens=True)["input_ids"]
        tokens = {k: [0] * len(ids) for k, f in self.adapter.fields.items() if f.unit is Unit.TOKEN}
        return Encoded(input_ids=ids, labels=list(ids), token_fields=tokens, prompt_len=0)

    def _document(self, messages: list[dict], base_dir, where: str) -> Encoded:
        """Pre-training: the whole rendered document is target text (vision tokens excepted),
        ended by the tokenizer's eos."""
        text = render(self.processor, messages, generation=False)
        eos = self.tokenizer.eos_token or ""
        if not text.endswith(eos):
            text += eos
        ids, tokens, vision, counts = self._process(text, messages, base_dir, where)
        vision_ids = set(self.adapter.feature_ids)
        labels = [IGNORE if t in vision_ids else t for t in ids]
        return Encoded(input_ids=ids, labels=labels, token_fields=tokens, prompt_len=0, vision=vision,
                       videos=counts[1], images=counts[0])

    def _chat(self, prompt: list[dict], completion: str, base_dir, where: str) -> Encoded:
        """SFT: the prompt (with the generation cue) is context; the assistant text (the family's
        ``completion_text``: lead, text, turn terminator) is the target."""
        ids, tokens, vision, counts = self._process(render_prompt(self.adapter, prompt), prompt, base_dir, where)
        out = self.tokenizer(self.adapter.completion_text(completion), add_special_tokens=False)["input_ids"]
        head = Encoded(input_ids=ids, labels=[IGNORE] * len(ids), token_fields=tokens, prompt_len=len(ids),
                       vision=vision, videos=counts[1], images=counts[0])
        return head.extended(out, list(out))

    # -- media ---------------------------------------------------------------------------------

    def _media(self, messages: list[dict], base_dir) -> Media:
        media = Media()
        for kind, ref in media_items(messages):
            if kind == "image":
                media.images.append(_image(ref, base_dir))
            else:
                clip = self._clip(ref, base_dir)
                media.videos.append(clip.frames)
                media.timestamps.append(list(clip.timestamps))
        return media

    def _clip(self, ref, base_dir) -> VideoClip:
        """Sample at ``video_fps``; if the budget cannot hold every frame, sample the whole clip
        uniformly down to what it holds (GLM/Qwen: after shrinking frames to the floor resolution)."""
        w, h = frame_size(ref, base_dir)
        if not self.adapter.takes_video:
            cap = None  # refused with the record's name once the prompt is rendered
        elif self.pixels:
            cap = max_video_frames(self.budget.max_video_tokens, h, w, self.patch, self.merge,
                                   self.temporal, self.budget.min_frame_pair_tokens)
        else:
            cap = max(2, int(self.budget.max_video_tokens // max(self.adapter.frame_tokens(h, w), 1e-9)) // 2 * 2)
        return load_clip(ref, base_dir, self.budget.video_fps, max_frames=cap)

    def _process(self, text: str, messages: list[dict], base_dir, where: str):
        media = self._media(messages, base_dir)
        kwargs: dict[str, Any] = {}
        if media.videos and self.video_size is not None:
            kwargs["videos_kwargs"] = {"size": self.video_size}
        ids, tokens, vision = process_text(self.adapter, text, media, where=where, fps=self.budget.video_fps, **kwargs)
        return ids, tokens, vision, (len(media.images), len(media.videos))

    def _check(self, sample: Encoded, where: str) -> None:
        """The processor kept the budgets: vision tokens within images × ``max_image_tokens`` +
        videos × ``max_video_tokens`` (counted on the ids: the slots the features fill)."""
        images, videos = sample.images, sample.videos
        tokens = self.adapter.vision_tokens(sample.input_ids) if self.adapter.feature_ids else 0
        allowed = images * self.budget.max_image_tokens + videos * self.budget.max_video_tokens
        if tokens > allowed:
            raise SampleError(where, "over_budget", f"{images} image(s) and {videos} video(s) take {tokens} vision "
                              f"tokens, over their budget of {allowed} (data.max_image_tokens="
                              f"{self.budget.max_image_tokens}, data.max_video_tokens={self.budget.max_video_tokens})")
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
