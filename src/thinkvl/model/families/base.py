"""One interface over every VLM family: what thinkvl needs to know about a model and its processor.

A ``Family`` subclass holds what is fixed by the family's *code* (module names, how each processor
output batches, whether it takes video, which config fields name its placeholder tokens); an
instance, bound to one model config and processor, answers what depends on the *checkpoint*
(stop ids from its chat template, marker ids from its tokenizer, vision budgets from its
processor settings, positions from its own ``get_rope_index``). Nothing here names GLM's tokens.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import torch

from thinkvl.format import THINK_CLOSE, THINK_OPEN, add_nothink
from thinkvl.model.families import chat, markers
from thinkvl.model.families.batching import Field, Unit, collate_fields, pack_fields


@dataclass(frozen=True)
class VisionBudget:
    """A family's vision cost in its own units, and the most vision tokens one image may take.

    ``unit``: ``"pixels"`` (Qwen / GLM: ``max_pixels`` over patch² × merge²), ``"tiles"``
    (InternVL, Idefics3, SmolVLM: crops of a fixed size, each a fixed number of tokens),
    ``"fixed"`` (Gemma 3: every image is the same number of tokens) or ``"anyres"``
    (LLaVA-OneVision: a grid of crops chosen from ``image_grid_pinpoints``); ``value``: that knob.
    """

    unit: str
    value: Any
    max_image_tokens: int


@dataclass(frozen=True)
class TinySpec:
    """How ``thinkvl model init --family`` builds this family's tiny model (``tiny.py``)."""

    template: str
    tokens: Any  # tiny.TokenizerSpec
    config: Any  # (tokenizer) -> PretrainedConfig
    processor: Any  # (tokenizer, chat_template) -> ProcessorMixin
    init: Any = None  # (model) -> None: fix-ups of the random initialisation


TOKEN_FIELDS = {"input_ids": Field(Unit.TOKEN), "attention_mask": Field(Unit.TOKEN)}


def video_metadata(frames: int, fps: float, timestamps: list[float] | None = None):
    """``VideoMetadata`` of already-sampled frames. Without ``timestamps`` the frames are ``fps``
    apart from 0. With them, each frame's time is exact (a millisecond index into a 1000-fps
    source: GLM-4.1V, Qwen3-VL and SmolVLM write these times into the prompt) and the source's
    length is chosen so the *sampled* rate is the clip's own (Qwen2.5-VL's ``second_per_grid_ts``
    = temporal patch ÷ that rate places frames in absolute time)."""
    from transformers.video_utils import VideoMetadata

    if timestamps is None:
        return VideoMetadata(total_num_frames=frames, fps=fps, duration=frames / fps,
                             frames_indices=list(range(frames)))
    if len(timestamps) != frames:
        raise ValueError(f"{len(timestamps)} timestamps for {frames} frames")
    ms = [round(t * 1000) for t in timestamps]
    distinct = sorted(set(ms))
    rate = (len(distinct) - 1) * 1000 / (distinct[-1] - distinct[0]) if len(distinct) > 1 else fps
    total = max(ms[-1] + 1, round(frames * 1000 / rate))
    return VideoMetadata(total_num_frames=total, fps=1000.0, duration=total / 1000, frames_indices=ms)


class Family:
    """The adapter of one VLM family. Subclasses set the class attributes; see ``families/*.py``."""

    name: ClassVar[str]
    model_types: ClassVar[tuple[str, ...]]
    model_class: ClassVar[str]
    processor_classes: ClassVar[tuple[str, ...]] = ()  # finds the family from a processor alone
    takes_video: ClassVar[bool] = False
    # Images and videos may share a sample and a forward pass. GLM-4.1V: no (its video frames
    # reuse the image placeholder); SmolVLM: no (video frames overwrite the images' pixels).
    mixed_media: ClassVar[bool] = True
    trust_remote_code: ClassVar[bool] = False
    rope: ClassVar[str] = "1d"  # or "mrope": positions from the model's get_rope_index
    # How thinkvl hands this family's prompts to vLLM as token ids (``model.vllm_inputs``): "glm"
    # (GLM-4.1V's image spans and timestamped video spans), "runs" (each run of an item's
    # placeholder tokens back to one, Qwen2-VL / Qwen2.5-VL), or None: not through vLLM here.
    vllm_placeholders: ClassVar[str | None] = None
    # Dotted module (or parameter) paths from the top model: the vision encoder, the bridge into
    # the language model, and the language model itself (per-part learning rates, freezing).
    vision_modules: ClassVar[tuple[str, ...]] = ()
    projector_modules: ClassVar[tuple[str, ...]] = ()
    language_module: ClassVar[str] = "model.language_model"
    # Every key the processor returns, with how it batches.
    fields: ClassVar[dict[str, Field]] = {}
    # Config attributes and processor attributes that hold the vision scaffolding tokens
    # (placeholders, image/video begin and end, tile tags): never sampled.
    placeholder_config_attrs: ClassVar[tuple[str, ...]] = ()
    placeholder_processor_attrs: ClassVar[tuple[str, ...]] = ()
    # Tokens of the family's prompt scaffolding that mean nothing inside an answer (GLM's
    # ``[gMASK]``, ``<sop>``): never sampled either, when the tokenizer has them.
    prompt_only_tokens: ClassVar[tuple[str, ...]] = ()
    tiny: ClassVar[TinySpec | None] = None

    def __init__(self, config, processor, generation_config=None):
        self.config = config
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.generation_config = generation_config

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config.model_type})"

    # --- the chat template ---------------------------------------------------------------------
    @cached_property
    def turn_end(self) -> chat.TurnEnd:
        return chat.turn_end(self.processor)

    @cached_property
    def stop_ids(self) -> list[int]:
        """Ids that end a completion: the template's turn terminator, then the tokenizer's eos and
        the checkpoint's generation-config eos ids (Qwen's lists ``<|endoftext|>`` too)."""
        ids = [self.turn_end.token_id, self.tokenizer.eos_token_id]
        eos = getattr(self.generation_config, "eos_token_id", None)
        ids += eos if isinstance(eos, list) else [eos]
        return [i for i in dict.fromkeys(ids) if i is not None]

    @property
    def completion_suffix(self) -> str:
        """What a training completion ends with: the turn terminator (not the tokenizer's eos,
        which a template such as Qwen's never writes after an assistant turn)."""
        return self.turn_end.token

    @cached_property
    def content_form(self) -> str:
        return chat.content_form(self.processor)

    @cached_property
    def assistant_lead(self) -> str | None:
        return chat.assistant_lead(self.processor)

    @cached_property
    def thinking(self) -> chat.Thinking:
        return chat.thinking(self.processor)

    # --- protocol markers ----------------------------------------------------------------------
    def markers(self) -> dict[str, markers.MarkerInfo]:
        return markers.marker_ids(self.tokenizer)

    def missing_markers(self) -> list[str]:
        return markers.missing_markers(self.tokenizer)

    def add_markers(self, model) -> list[str]:
        """SFT start: the missing markers become special tokens, embeddings resized."""
        return markers.add_markers(model, self.tokenizer)

    # --- tokens never to sample ----------------------------------------------------------------
    def _token_values(self) -> list:
        values = [getattr(self.config, a, None) for a in self.placeholder_config_attrs]
        values += [getattr(self.processor, a, None) for a in self.placeholder_processor_attrs]
        return values

    @cached_property
    def placeholder_ids(self) -> list[int]:
        """Vision scaffolding tokens: a sampled one breaks the next forward pass ("image features
        and image tokens do not match") or fakes an image boundary."""
        ids: set[int] = set()
        for value in self._token_values():
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, str):
                    item = self.tokenizer.convert_tokens_to_ids(item)
                if isinstance(item, int) and item != self.tokenizer.unk_token_id and item >= 0:
                    ids.add(item)
        return sorted(ids)

    @cached_property
    def never_sample_ids(self) -> list[int]:
        """Placeholders, padding and a beginning-of-sequence token that is not a stop token."""
        extra = {self.tokenizer.pad_token_id, self.tokenizer.bos_token_id}
        extra |= {self.tokenizer.convert_tokens_to_ids(t) for t in self.prompt_only_tokens}
        extra.discard(self.tokenizer.unk_token_id)
        return sorted((set(self.placeholder_ids) | {i for i in extra if i is not None}) - set(self.stop_ids))

    @cached_property
    def feature_ids(self) -> list[int]:
        """The placeholder ids the vision features replace one for one (what budgets count)."""
        return [i for i in (self.image_token_id, self.video_token_id) if i is not None]

    @property
    def image_token_id(self) -> int | None:
        return self._config_id("image_token_id", "image_token_index")

    @property
    def video_token_id(self) -> int | None:
        return self._config_id("video_token_id", "video_token_index")

    def _config_id(self, *names: str) -> int | None:
        """From the model config; an adapter made from a processor alone (no config) asks the
        processor, which knows the same ids."""
        for name in names:
            value = getattr(self.config, name, None)
            if value is not None:
                return int(value)
        if self.config is None:
            value = getattr(self.processor, names[0], None)
            if isinstance(value, int):
                return value
        return None

    # --- completions ---------------------------------------------------------------------------
    def completion_text(self, completion: str, end: bool = True) -> str:
        """What a training completion is, as text after the rendered generation prompt: the
        template's ``assistant_lead`` (Idefics3's space after ``Assistant:``), the completion
        without the ``<think>`` a template already opened (Qwen3-VL Thinking, whose rendering of
        a finished turn is its own reasoning convention, not a lead: none is added), then the
        turn terminator (``end``), which is what the model must learn to stop with."""
        opened = self.opened_prefix
        lead = "" if opened else (self.assistant_lead or "")
        if opened and completion.startswith(THINK_OPEN):
            completion = completion[len(THINK_OPEN):]
            if opened.endswith("\n") and completion.startswith("\n"):
                completion = completion[1:]
        return lead + completion + (self.completion_suffix if end else "")

    @property
    def opened_prefix(self) -> str:
        """The ``<think>`` (and newline) the template writes at the end of every generation
        prompt, where it opens one: part of the response, put back before decoded text."""
        return self.thinking.opened if self.thinking.mode == "opens_think" else ""

    def response_prefix(self, template_kwargs: dict | None = None) -> str:
        """What the rendered prompt already holds of the response, to put back before decoded
        text so readers see the whole protocol: ``opened_prefix``, or what template arguments
        (``enable_thinking=False``) add after the generation cue (an empty think block)."""
        if self.opened_prefix or not template_kwargs:
            return self.opened_prefix
        cache = self.__dict__.setdefault("_response_prefix", {})
        key = repr(sorted(template_kwargs.items()))
        if key not in cache:
            user = [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
            plain = chat.render(self.processor, user, generation=True)
            moded = chat.render(self.processor, user, generation=True, **template_kwargs)
            cache[key] = moded[len(plain):] if moded.startswith(plain) else ""
        return cache[key]

    def think_closed(self, ids: list[int]) -> bool:
        """Whether completion ``ids`` closed their think block: by id where ``</think>`` is one
        token, else by text (a marker split into pieces is matched as text, never as ids)."""
        close = self.markers()[THINK_CLOSE]
        if close.single:
            return close.ids[0] in ids
        return THINK_CLOSE in self.tokenizer.decode(ids, skip_special_tokens=False)

    def batch_key(self, sample) -> tuple:
        """Samples whose keys differ cannot share one forward pass (``sample``: an ``Encoded``).
        Families that cannot mix images and videos in a pass (``mixed_media`` False) split by
        kind; others put everything together."""
        if self.mixed_media:
            return ()
        return ("video",) if sample.has_video else ("image",)

    def direct_prompt(self, prompt: list[dict]) -> tuple[list[dict], dict]:
        """``prompt`` asking for a direct answer, and the template keyword arguments to render it
        with, per the family's hybrid-thinking convention (``thinking``)."""
        convention = self.thinking
        if convention.direct_suffix:
            messages = with_nothink(prompt, convention.direct_suffix)
        else:
            messages = [dict(m) for m in prompt]
        return messages, dict(convention.direct_template_kwargs)

    # --- vision inputs -------------------------------------------------------------------------
    def check_media(self, rendered: str, images: int, videos: int, where: str = "a record") -> None:
        """Fail unless the rendered prompt places every image and video of the record: a template
        that drops a video item (image-only families) or a count that differs from the record's
        media would otherwise train the sample as text, silently."""
        if videos and not self.takes_video:
            raise ValueError(f"{where}: has {videos} video(s) but {self.name} takes no video; drop the record "
                             "or use a family that takes video")
        video_token = getattr(self.processor, "video_token", None) if self.takes_video else None
        found = {"image": rendered.count(self.processor.image_token),
                 "video": rendered.count(video_token) if video_token else 0}
        for kind, want in (("image", images), ("video", videos)):
            if found[kind] != want:
                raise ValueError(f"{where}: {want} {kind}(s) but the rendered prompt has {found[kind]} {kind} "
                                 f"placeholder(s); every {kind} must be an item of a message's content")

    def vision_tokens(self, input_ids) -> int:
        """Vision feature slots in ``input_ids`` (one row or a flat list), as the processor expanded them."""
        ids = torch.as_tensor(input_ids)
        return int(torch.isin(ids, torch.tensor(self.feature_ids)).sum())

    def frame_tokens(self, height: int, width: int) -> float:
        """Vision tokens one video frame of this size costs, counted by running the processor on
        two blank frames (every family resizes, tiles or pools frames its own way)."""
        from PIL import Image

        cache = self.__dict__.setdefault("_frame_tokens", {})
        if (height, width) not in cache:
            text = chat.render(self.processor, [{"role": "user", "content": [{"type": "video", "video": "v"}]}],
                               generation=True)
            blank = [Image.new("RGB", (width, height)) for _ in range(2)]
            enc = self.processor(text=[text], return_tensors="pt", add_special_tokens=False,
                                 **self.media_kwargs(videos=[blank]))
            cache[(height, width)] = self.vision_tokens(enc["input_ids"][0]) / 2
        return cache[(height, width)]

    def budget(self) -> VisionBudget:
        raise NotImplementedError(f"{type(self).__name__} declares no vision budget")

    def cap_image_tokens(self, tokens: int) -> None:
        """Set the processor so one image takes at most ``tokens`` vision tokens."""
        raise NotImplementedError(f"{type(self).__name__} cannot cap its image tokens by a processor setting")

    def media_kwargs(self, images: list | None = None, videos: list[list] | None = None, fps: float = 2.0,
                     timestamps: list | None = None) -> dict:
        """Processor keyword arguments for *one sample's* images and videos. Images go in one
        nested list: processors that count images per sample (LLaVA-OneVision's
        ``batch_num_images``: several images get base views only; Idefics3's per-sample tiles)
        would take a flat list as one sample per image."""
        kwargs: dict = {}
        if images:
            kwargs["images"] = [list(images)]
        if videos:
            kwargs.update(self.video_kwargs(videos, fps, timestamps))
        return kwargs

    def video_kwargs(self, videos: list[list], fps: float, timestamps: list | None = None) -> dict:
        """Processor keyword arguments that hand over already-sampled frames: at ``fps``, or at
        their own times (``timestamps[i]``: seconds of each frame of video i, or None)."""
        if not self.takes_video:
            raise ValueError(f"{self.name} takes no video; a video record cannot be used with this model")
        times = timestamps or [None] * len(videos)
        meta = [video_metadata(len(v), fps, t) for v, t in zip(videos, times, strict=True)]
        return {"videos": videos, "video_metadata": meta, "do_sample_frames": False}

    def collate(self, parts: list[dict], padding_side: str = "right") -> dict:
        """One sample per row (processor outputs of single samples), padded."""
        return collate_fields(parts, {**TOKEN_FIELDS, **self.fields}, self.tokenizer.pad_token_id, padding_side)

    def pack(self, model, rows: list[list[dict]]) -> dict:
        """Several samples per row, each seeing only itself: fields per ``pack_fields``, and
        position ids restarting at every sample. M-RoPE positions come as ``(4, rows, width)``:
        a plain text row first (from which transformers finds where samples start), then the
        sample's own (t, h, w) positions; padding counts from 0 as a sample of its own. The batch
        says ``use_cache=False``: with a cache (the default) transformers skips the packed-sequence
        mask and every sample would attend to the ones before it in its row."""
        batch = pack_fields(rows, {**TOKEN_FIELDS, **self.fields}, self.tokenizer.pad_token_id)
        width = batch["input_ids"].shape[1]
        dims = 4 if self.rope == "mrope" else 1
        pos = torch.zeros((dims, len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):
            o = 0
            for part in row:
                n = part["input_ids"].shape[-1]
                own = self.positions(model, {k: v for k, v in part.items() if k != "attention_mask"})
                pos[0, r, o:o + n] = torch.arange(n)
                if dims == 4:
                    pos[1:, r, o:o + n] = own[:, 0]
                o += n
            pos[:, r, o:] = torch.arange(width - o)
        batch["position_ids"] = pos if dims == 4 else pos[0]
        batch["use_cache"] = False  # transformers finds packed samples only when no cache is kept
        return batch

    # --- positions and decoding ----------------------------------------------------------------
    def positions(self, model, batch: dict) -> torch.Tensor:
        """Position ids the model uses for ``batch``: (B, L) 1-D, or (3, B, L) from the model's own
        ``get_rope_index`` fed every input it takes (grids, ``second_per_grid_ts`` …)."""
        mask = batch.get("attention_mask")
        if self.rope == "mrope":
            rope = model.model.get_rope_index
            params = inspect.signature(rope).parameters
            kwargs = {k: v for k, v in batch.items() if k in params and k != "input_ids"}
            return rope(batch["input_ids"], **kwargs)[0]
        if mask is None:
            ids = batch["input_ids"]
            return torch.arange(ids.shape[-1]).expand_as(ids)
        return (mask.long().cumsum(-1) - 1).clamp(min=0)

    @cached_property
    def layer_types(self) -> list[str]:
        text = self.config.get_text_config()
        types = getattr(text, "layer_types", None)
        if types:
            return list(types)
        window = getattr(text, "sliding_window", None) if getattr(text, "use_sliding_window", True) else None
        return ["sliding_attention" if window else "full_attention"] * text.num_hidden_layers

    @property
    def fast_decode(self) -> bool:
        """thinkvl's own decoding loop keeps one growing KV buffer per layer: right for full
        attention only. Sliding-window or hybrid caches (Gemma 3) decode through ``generate``."""
        return all(t == "full_attention" for t in self.layer_types)

    # --- model parts ---------------------------------------------------------------------------
    def part_of(self, parameter_name: str) -> str:
        """``"vision"``, ``"projector"`` or ``"language"`` for a parameter name (longest prefix wins)."""
        best, part = -1, "language"
        for kind, prefixes in (("vision", self.vision_modules), ("projector", self.projector_modules)):
            for p in prefixes:
                if (parameter_name == p or parameter_name.startswith(p + ".")) and len(p) > best:
                    best, part = len(p), kind
        return part


def with_nothink(prompt: list[dict], suffix: str = "/nothink") -> list[dict]:
    """A copy of ``prompt`` whose last user turn ends in ``/nothink`` (``suffix`` as its own text
    part when the turn has no text)."""
    messages = [dict(m) for m in prompt]
    last = messages[-1]
    if isinstance(last["content"], str):
        last["content"] = add_nothink(last["content"])
    else:
        parts = [dict(p) for p in last["content"]]
        texts = [p for p in parts if p.get("type") == "text"]
        if texts:
            texts[-1]["text"] = add_nothink(texts[-1]["text"])
        else:
            parts.append({"type": "text", "text": suffix})
        last["content"] = parts
    return messages
