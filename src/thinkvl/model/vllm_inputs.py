"""The trainer's encoding of a prompt as vLLM input: token ids plus ``multi_modal_data``.

vLLM must condition on exactly the tokens the trainer computes log-probabilities for, so a
prompt is never re-rendered from text here: it starts from ``encode_sample``'s ids (chat
template, vision placeholders expanded by the Hugging Face processor). vLLM expands vision
placeholders itself (for GLM-4.1V it replaces each ``<|image|>`` and each
``<|begin_of_video|><|video|><|end_of_video|>`` by the item's full placeholder, frame
timestamps included), so the expanded spans are collapsed back to that template form and
vLLM re-expands them from the same pixels. ``check_prompt`` then compares vLLM's expanded
prompt with the trainer's ids and fails loudly on any difference (a processor mismatch would
otherwise train on tokens the sampler never saw).

Videos go to vLLM as ``(frames, metadata)`` with the metadata the trainer encodes with
(``families.base.video_metadata``: each frame's own time, every frame kept, ``do_sample_frames``
off), so frame selection and timestamps are the trainer's. Tokens that must never be sampled
(``model.suppress`` and the family adapter's) become vLLM ``bad_words``.

Which families go through vLLM here is the adapter's ``vllm_placeholders``: GLM-4.1V (its spans,
above) and Qwen2-VL / Qwen2.5-VL (each run of an image's or video's pad tokens collapses back to
one, which vLLM expands again). Other families are refused with their name: vLLM implements
them, but their placeholder layouts (timestamped frame spans, tile tags, crop grids) are not
collapsed here yet and, untested, could train on tokens the sampler never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thinkvl.model.families.base import video_metadata
from thinkvl.model.inputs import VIDEO_FPS, Encoded, Media


@dataclass(frozen=True)
class VisionTokens:
    """The placeholder token ids of a GLM-4.1V-style model config."""

    image: int
    video: int
    image_start: int
    image_end: int
    video_start: int
    video_end: int

    @classmethod
    def from_config(cls, config) -> "VisionTokens":
        names = ("image_token_id", "video_token_id", "image_start_token_id", "image_end_token_id",
                 "video_start_token_id", "video_end_token_id")
        missing = [n for n in names if getattr(config, n, None) is None]
        if missing:
            raise ValueError(f"{type(config).__name__} lacks {missing}: the vLLM engines support "
                             "GLM-4.1V-style vision placeholders only")
        return cls(*(int(getattr(config, n)) for n in names))

    def collapse(self, ids: list[int]) -> list[int]:
        return collapse_placeholders(ids, self)


@dataclass(frozen=True)
class RunTokens:
    """Placeholder tokens that the processor repeats once per vision token (Qwen2-VL's
    ``<|image_pad|>`` / ``<|video_pad|>``): a run collapses back to one."""

    ids: tuple[int, ...]

    def collapse(self, ids: list[int]) -> list[int]:
        out: list[int] = []
        for tok in ids:
            if not (tok in self.ids and out and out[-1] == tok):
                out.append(tok)
        return out


def placeholders_for(adapter):
    """The vLLM placeholder layout of a family (``Family.vllm_placeholders``), or an error
    naming the family."""
    layout = adapter.vllm_placeholders
    if layout == "glm":
        return VisionTokens.from_config(adapter.config)
    if layout == "runs":
        return RunTokens(tuple(adapter.feature_ids))
    raise ValueError(f"{adapter.name}: thinkvl does not hand this family's prompts to vLLM (supported here: "
                     "glm4v, qwen2_vl, qwen2_5_vl); use the hf rollout engine / eval backend")


def collapse_placeholders(ids: list[int], vt: VisionTokens) -> list[int]:
    """Expanded vision spans back to the chat template's form, everything else untouched:
    ``<|begin_of_image|> <|image|>×n <|end_of_image|>`` → ``… <|image|> …`` and a whole
    ``<|begin_of_video|> … <|end_of_video|>`` span → ``<|begin_of_video|><|video|><|end_of_video|>``."""
    out: list[int] = []
    i = 0
    while i < len(ids):
        tok = ids[i]
        if tok == vt.video_start:
            try:
                end = ids.index(vt.video_end, i + 1)
            except ValueError:
                raise ValueError(f"prompt has <|begin_of_video|> at {i} without <|end_of_video|>")
            out += [vt.video_start, vt.video, vt.video_end]
            i = end + 1
        elif tok == vt.image:
            out.append(tok)
            while i < len(ids) and ids[i] == vt.image:
                i += 1
        else:
            out.append(tok)
            i += 1
    return out


def video_item(frames, timestamps: list[float] | None = None) -> tuple[np.ndarray, dict]:
    """A video as vLLM takes it: (T, H, W, 3) uint8 frames and the trainer's metadata."""
    array = np.stack([np.asarray(f.convert("RGB")) for f in frames])
    meta = video_metadata(len(frames), VIDEO_FPS, timestamps)
    return array, {"fps": meta.fps, "duration": meta.duration, "total_num_frames": meta.total_num_frames,
                   "frames_indices": list(meta.frames_indices), "do_sample_frames": False}


def vllm_prompt(sample: Encoded, media: Media, vt, extra_ids: list[int] = ()) -> dict:
    """A vLLM ``TokensPrompt`` for ``sample``'s prompt (plus ``extra_ids`` after it: a
    continuation such as a forced answer is fed as tokens, never re-tokenised text); ``vt``: the
    family's placeholder layout (``placeholders_for``)."""
    ids = vt.collapse(sample.input_ids[:sample.prompt_len]) + list(extra_ids)
    mm: dict = {}
    if media.images:
        mm["image"] = list(media.images)
    if media.videos:
        times = media.video_times() or [None] * len(media.videos)
        mm["video"] = [video_item(v, t) for v, t in zip(media.videos, times)]
    prompt: dict = {"prompt_token_ids": ids}
    if mm:
        prompt["multi_modal_data"] = mm
    return prompt


def check_prompt(vllm_ids, sample: Encoded, where: str = "prompt") -> None:
    """Fail when vLLM's expanded prompt differs from the trainer's encoding."""
    want = sample.input_ids[:sample.prompt_len]
    got = list(vllm_ids or [])[:len(want)]
    if got != want:
        first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        raise RuntimeError(
            f"vLLM expanded the {where} into other tokens than the trainer encodes (first difference "
            f"at token {first}: vLLM {got[first:first + 8]} vs trainer {want[first:first + 8]}; "
            f"lengths {len(list(vllm_ids or []))} vs {len(want)}). vLLM and the trainer must load the "
            "same processor settings (model folder, vision caps)")


def never_sample_tokens(tokenizer, ids) -> list[str]:
    """``ids`` as token strings for vLLM's ``bad_words`` (each a single special token)."""
    tokens = tokenizer.convert_ids_to_tokens(sorted(ids))
    return [t for t in tokens if t]
