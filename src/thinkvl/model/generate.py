"""Completions of chat prompts: encode (media loaded once, direct mode asked with /nothink), then
decode with force-answering (``model.decoding``); shared by RL rollouts, offline grading, the
evaluation harness and the annotation drafts.

``generate_groups`` gives n completions per prompt with each prompt encoded and prefilled once
(an RL group); ``sample_grouped`` (one plain Hugging Face ``generate`` call) stays for the
OpenAI-compatible test server.
"""

from __future__ import annotations

import torch

from thinkvl.format import add_nothink
from thinkvl.model.decoding import Completion, decode, eos_ids, extend_sample  # noqa: F401 - the API
from thinkvl.model.inputs import Encoded, Media, collate, collect_media, encode_sample, group_by_modality
from thinkvl.model.settings import GenerationSettings


def direct_prompt(prompt: list[dict]) -> list[dict]:
    """Append /nothink to the last user turn (direct-answer mode)."""
    prompt = [dict(m) for m in prompt]
    last = prompt[-1]
    if isinstance(last["content"], str):
        last["content"] = add_nothink(last["content"])
    else:
        parts = [dict(p) for p in last["content"]]
        texts = [p for p in parts if p.get("type") == "text"]
        if texts:
            texts[-1]["text"] = add_nothink(texts[-1]["text"])
        else:
            parts.append({"type": "text", "text": "/nothink"})
        last["content"] = parts
    return prompt


@torch.no_grad()
def _sample(model, batch: dict, max_new: int, settings: GenerationSettings, pad_id: int) -> list[list[int]]:
    """Generate up to ``max_new`` tokens for a left-padded batch; returns new tokens per row."""
    labels = batch.pop("labels", None)
    out = model.generate(**batch, **settings.hf_kwargs(max_new, pad_id))
    if labels is not None:
        batch["labels"] = labels
    width = batch["input_ids"].shape[1]
    return [row[width:].tolist() for row in out]


def sample_grouped(model, samples: list[Encoded], max_new: int, settings: GenerationSettings,
                    pad_id: int) -> list[list[int]]:
    """``_sample`` over modality-homogeneous sub-batches, results in the original order."""
    out: list[list[int]] = [[] for _ in samples]
    for idx in group_by_modality(samples):
        batch = collate([samples[i] for i in idx], pad_id, padding_side="left")
        for i, ids in zip(idx, _sample(model, batch, max_new, settings, pad_id)):
            out[i] = ids
    return out


def trim_at_eos(ids: list[int], eos: set[int], pad_id: int) -> tuple[list[int], bool]:
    """Cut at the first end-of-sequence token (kept); report whether one was found."""
    for i, tok in enumerate(ids):
        if tok in eos:
            return ids[: i + 1], True
    return [t for t in ids if t != pad_id], False


def encode_prompts(processor, prompts: list[list[dict]], think: bool = True, base_dirs: list | None = None,
                   media: list[Media] | None = None) -> list[Encoded]:
    """Each chat prompt as model input (``think=False``: direct mode, /nothink), media loaded once."""
    encoded = []
    for i, prompt in enumerate(prompts):
        if not think:
            prompt = direct_prompt(prompt)
        med = media[i] if media is not None and media[i] is not None else None
        if med is None:
            med = collect_media(prompt, base_dirs[i] if base_dirs is not None else None)
        encoded.append(encode_sample(processor, prompt, None, media=med))
    return encoded


def generate(model, processor, prompts: list[list[dict]], settings: GenerationSettings, *, think: bool = True,
             base_dirs: list | None = None, media: list[Media] | None = None,
             batch_size: int = 64) -> list[Completion]:
    """Complete each chat prompt once (``generate_groups`` for n rollouts of one prompt)."""
    results: list[Completion] = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start:start + batch_size]
        dirs = base_dirs[start:start + batch_size] if base_dirs is not None else None
        meds = media[start:start + batch_size] if media is not None else None
        encoded = encode_prompts(processor, chunk, think, dirs, meds)
        results.extend(decode(model, processor.tokenizer, encoded, 1, settings))
    return results


def generate_groups(model, processor, prompts: list[list[dict]], n: int, settings: GenerationSettings, *,
                    think: bool = True, base_dirs: list | None = None, media: list[Media] | None = None,
                    batch_size: int = 64) -> list[list[Completion]]:
    """``n`` completions of each chat prompt; every prompt is encoded and prefilled once.

    ``batch_size`` caps the sequences decoded together (at least one prompt's group).
    """
    per_chunk = max(1, batch_size // max(1, n))
    groups: list[list[Completion]] = []
    for start in range(0, len(prompts), per_chunk):
        chunk = prompts[start:start + per_chunk]
        dirs = base_dirs[start:start + per_chunk] if base_dirs is not None else None
        meds = media[start:start + per_chunk] if media is not None else None
        encoded = encode_prompts(processor, chunk, think, dirs, meds)
        flat = decode(model, processor.tokenizer, encoded, n, settings)
        groups.extend(flat[i * n:(i + 1) * n] for i in range(len(chunk)))
    return groups
