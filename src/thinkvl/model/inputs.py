"""Turn chat records into model tensors: prompt tokens, completion tokens, vision inputs.

One place decides how a conversation becomes ``input_ids`` / ``labels``, the per-token fields
and the vision tensors, so pre-training, SFT, RL and evaluation all feed the model identically.
What differs between VLM families is asked of the family adapter (``model.families``): how one
sample's media are handed to the processor (``media_kwargs``), which processor outputs are per
token and how every other one batches (``fields``), what a completion ends with
(``completion_text``), and whether the rendered prompt placed every image and video of the
record (``check_media``: a record whose media did not reach the prompt is an error naming it,
never a sample silently trained as text). Prompts are rendered with the processor's own chat
template and tokenized without special tokens (the template already wrote any BOS); completions
are tokenized on their own and appended, so the loss mask is exact.

Callers pass an adapter (``adapter_for(model, processor)``) or a processor, whose family is
then found from its class (``families.as_adapter``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from thinkvl.data.media import VIDEO_FPS, load_image, load_video_frames
from thinkvl.model.families import as_adapter
from thinkvl.model.families.base import TOKEN_FIELDS
from thinkvl.model.families.batching import Field, Unit, collate_fields
from thinkvl.model.families.chat import render

IGNORE = -100


@dataclass
class Media:
    """A conversation's decoded media in template order. ``timestamps[i]``: the time (seconds) of
    each frame of video i, or None (frames ``VIDEO_FPS`` apart from 0)."""

    images: list[Image.Image] = field(default_factory=list)
    videos: list[list[Image.Image]] = field(default_factory=list)
    timestamps: list[list[float] | None] = field(default_factory=list)

    def video_times(self) -> list | None:
        if not any(self.timestamps):
            return None
        return list(self.timestamps) + [None] * (len(self.videos) - len(self.timestamps))


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


@dataclass
class Encoded:
    """One sample: token ids, labels (IGNORE where no loss), the processor's other per-token
    fields (``token_fields``: GLM/Qwen ``mm_token_type_ids``, Gemma's ``token_type_ids``; a plain
    list is taken as ``mm_token_type_ids``), and every other processor output (``vision``)."""

    input_ids: list[int]
    labels: list[int]
    token_fields: dict[str, list[int]] | list[int]
    prompt_len: int
    vision: dict = field(default_factory=dict)
    videos: int = 0  # videos in the prompt (SmolVLM's frames share ``pixel_values`` with images)
    images: int = 0  # images in the prompt (budgets are per image)
    response_prefix: str = ""  # response text the rendered prompt already holds (an opened <think>)

    def __post_init__(self):
        if not isinstance(self.token_fields, dict):
            self.token_fields = {"mm_token_type_ids": list(self.token_fields)}

    @property
    def mm_token_type_ids(self) -> list[int]:
        """Non-zero on vision tokens, where the family's processor says so (zeros otherwise)."""
        for key in ("mm_token_type_ids", "token_type_ids"):
            if key in self.token_fields:
                return self.token_fields[key]
        return [0] * len(self.input_ids)

    @property
    def has_video(self) -> bool:
        return self.videos > 0 or "pixel_values_videos" in self.vision

    def extended(self, ids: list[int], labels: list[int]) -> "Encoded":
        """This sample followed by ``ids`` (per-token fields 0 over them)."""
        return Encoded(input_ids=self.input_ids + ids, labels=self.labels + labels,
                       token_fields={k: v + [0] * len(ids) for k, v in self.token_fields.items()},
                       prompt_len=self.prompt_len, vision=self.vision, videos=self.videos, images=self.images,
                       response_prefix=self.response_prefix)

    def part(self, length: int | None = None) -> dict:
        """The first ``length`` tokens (all by default) as a one-row processor output (tensors)."""
        n = len(self.input_ids) if length is None else length
        out = {"input_ids": torch.tensor([self.input_ids[:n]], dtype=torch.long),
               "attention_mask": torch.ones((1, n), dtype=torch.long)}
        out.update({k: torch.tensor([v[:n]], dtype=torch.long) for k, v in self.token_fields.items()})
        out.update(self.vision)
        return out


def render_prompt(adapter, prompt: list[dict], template_kwargs: dict | None = None) -> str:
    """The prompt rendered with the family's chat template, ending with the generation cue. The
    tokenizer renders it (``chat.render``): the same text as the processor's
    ``apply_chat_template``, without processor hooks (SmolVLM's swaps in another template for
    video chats) and with template arguments such as ``enable_thinking`` reaching the template."""
    return render(adapter.processor, prompt, generation=True, **(template_kwargs or {}))


def process_text(adapter, text: str, media: Media, where: str = "a record", fps: float = VIDEO_FPS,
                 **processor_kwargs) -> tuple[list[int], dict[str, list[int]], dict]:
    """Tokenize rendered ``text`` with its media: ``(ids, token fields, vision fields)``.

    Fails, naming ``where`` (the record's file:line), when the rendered text does not place every
    image and video, when the family takes no video, or when it cannot hold images and videos in
    one sample; a processor output the family declares no batching rule for is an error too."""
    adapter = as_adapter(adapter)
    adapter.check_media(text, len(media.images), len(media.videos), where=where)
    if media.images and media.videos and not adapter.mixed_media:
        raise ValueError(f"{where}: has images and a video, which {adapter.name} cannot take in one sample; "
                         "split it into an image record and a video record")
    kwargs = adapter.media_kwargs(media.images, media.videos, fps, media.video_times())
    enc = adapter.processor(text=[text], return_tensors="pt", add_special_tokens=False, **kwargs,
                            **processor_kwargs)
    return split_fields(adapter, enc, where)


def split_fields(adapter, enc, where: str = "a record") -> tuple[list[int], dict[str, list[int]], dict]:
    """A one-sample processor output as ids, the other per-token fields, and the rest."""
    rules = {**TOKEN_FIELDS, **adapter.fields}
    unknown = sorted(k for k in enc.keys() if k not in rules)
    if unknown:
        raise KeyError(f"{where}: the {adapter.name} processor returned {unknown}, which its adapter declares no "
                       "batching rule for (thinkvl.model.families); it would otherwise be dropped")
    ids = [int(t) for t in enc["input_ids"][0]]
    tokens = {k: [int(t) for t in enc[k][0]] for k in enc.keys()
              if rules[k].unit is Unit.TOKEN and k not in TOKEN_FIELDS}
    vision = {k: torch.as_tensor(enc[k]) for k in enc.keys() if rules[k].unit is not Unit.TOKEN}
    return ids, tokens, vision


def encode_sample(processor, prompt: list[dict], completion: str | None, base_dir=None,
                  media: Media | None = None, add_eos: bool = True, *, where: str | None = None,
                  template_kwargs: dict | None = None) -> Encoded:
    """Encode ``prompt`` (chat messages) plus an optional assistant ``completion`` string.

    ``processor``: a family adapter or a processor. The completion is the family's
    ``completion_text`` (lead, text, and with ``add_eos`` the turn terminator)."""
    adapter = as_adapter(processor)
    media = media if media is not None else collect_media(prompt, base_dir)
    text = render_prompt(adapter, prompt, template_kwargs)
    ids, tokens, vision = process_text(adapter, text, media, where=where or "a record")
    out: list[int] = []
    if completion is not None:
        out = adapter.tokenizer(adapter.completion_text(completion, add_eos), add_special_tokens=False)["input_ids"]
    prompt_only = Encoded(input_ids=ids, labels=[IGNORE] * len(ids), token_fields=tokens, prompt_len=len(ids),
                          vision=vision, videos=len(media.videos), images=len(media.images),
                          response_prefix=adapter.response_prefix(template_kwargs))
    return prompt_only.extended(out, list(out)) if out else prompt_only


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
    return "video" if sample.has_video else "image"


def group_by_modality(samples: list[Encoded], adapter=None) -> list[list[int]]:
    """Indices of ``samples`` split into batches that one forward pass can take: by the family's
    ``batch_key`` (GLM-4.1V and SmolVLM: images apart from videos; LLaVA-OneVision: videos by
    frame count; others: all together), or by modality when no adapter is given."""
    groups: dict[object, list[int]] = {}
    for i, s in enumerate(samples):
        if adapter is None:
            if "pixel_values_videos" in s.vision and "pixel_values" in s.vision:
                raise ValueError("a sample with both images and a video is not supported by GLM-4.1V's "
                                 "placeholder scheme; split it into two samples")
            key: object = modality(s)
        else:
            key = adapter.batch_key(s)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def batching_rules(samples: list[Encoded], adapter=None) -> dict[str, Field]:
    """Each key's batching rule: the family's, or (no adapter) per-token fields padded and every
    other tensor concatenated in sample order (the GLM-4.1V / Qwen layout)."""
    if adapter is not None:
        return {**TOKEN_FIELDS, **adapter.fields}
    rules = dict(TOKEN_FIELDS)
    for s in samples:
        rules.update({k: Field(Unit.TOKEN) for k in s.token_fields})
        rules.update({k: Field(Unit.PATCH) for k in s.vision})
    return rules


def collate(samples: list[Encoded], pad_id: int, padding_side: str = "right", adapter=None) -> dict:
    """Pad a list of samples into a batch (one sample per row), ``labels`` included; every other
    field batches by ``batching_rules``."""
    width = max(len(s.input_ids) for s in samples)
    out = collate_fields([s.part() for s in samples], batching_rules(samples, adapter), pad_id, padding_side)
    labels = []
    for s in samples:
        pad = [IGNORE] * (width - len(s.labels))
        labels.append(s.labels + pad if padding_side == "right" else pad + s.labels)
    out["labels"] = torch.tensor(labels, dtype=torch.long)
    return out
