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
(``model.inputs``: 2 fps, every frame kept, ``do_sample_frames`` off), so frame selection and
timestamps are the trainer's. Tokens that must never be sampled (``model.suppress``) become
vLLM ``bad_words``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def video_item(frames) -> tuple[np.ndarray, dict]:
    """A video as vLLM takes it: (T, H, W, 3) uint8 frames and the trainer's metadata."""
    array = np.stack([np.asarray(f.convert("RGB")) for f in frames])
    n = len(frames)
    return array, {"fps": VIDEO_FPS, "duration": n / VIDEO_FPS, "total_num_frames": n,
                   "frames_indices": list(range(n)), "do_sample_frames": False}


def vllm_prompt(sample: Encoded, media: Media, vt: VisionTokens, extra_ids: list[int] = ()) -> dict:
    """A vLLM ``TokensPrompt`` for ``sample``'s prompt (plus ``extra_ids`` after it: a
    continuation such as a forced answer is fed as tokens, never re-tokenised text)."""
    ids = collapse_placeholders(sample.input_ids[:sample.prompt_len], vt) + list(extra_ids)
    mm: dict = {}
    if media.images:
        mm["image"] = list(media.images)
    if media.videos:
        mm["video"] = [video_item(v) for v in media.videos]
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
