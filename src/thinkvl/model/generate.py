"""Completions of chat prompts: encode (media loaded once, direct mode asked the family's way:
``Family.direct_prompt`` — ``/nothink``, or the template's ``enable_thinking=False``), then decode
with force-answering (``model.decoding``); shared by RL rollouts, offline grading, the evaluation
harness and the annotation drafts. ``processor`` may be a processor or a family adapter.

``generate_groups`` gives n completions per prompt with each prompt encoded and prefilled once
(an RL group); ``sample_grouped`` (one plain Hugging Face ``generate`` call) stays for the
OpenAI-compatible test server.
"""

from __future__ import annotations

import torch

from thinkvl.model.decoding import Completion, decode_fast, eos_ids, extend_sample  # noqa: F401 - the API
from thinkvl.model.families import as_adapter
from thinkvl.model.families.base import with_nothink
from thinkvl.model.hf_decode import decode_with_generate
from thinkvl.model.inputs import Encoded, Media, collate, collect_media, encode_sample, group_by_modality
from thinkvl.model.settings import GenerationSettings


def decode(model, adapter, prompts: list[Encoded], n: int, settings: GenerationSettings) -> list[Completion]:
    """``n`` completions of every encoded prompt (prompt-major), with force-answering: thinkvl's
    cached loop (``decoding.decode_fast``) where the family's attention allows it, Hugging Face
    ``generate`` (``hf_decode``) for sliding-window and hybrid caches."""
    if not prompts:
        return []
    adapter = as_adapter(adapter, model)
    if adapter.fast_decode:
        return decode_fast(model, adapter, prompts, n, settings)
    return decode_with_generate(model, adapter, prompts, n, settings)


def direct_prompt(prompt: list[dict]) -> list[dict]:
    """Append /nothink to the last user turn (direct-answer mode, thinkvl's own convention; a
    family adapter's ``direct_prompt`` follows the family's)."""
    return with_nothink(prompt)


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
                   pad_id: int, adapter=None) -> list[list[int]]:
    """``_sample`` over sub-batches one forward can take, results in the original order."""
    out: list[list[int]] = [[] for _ in samples]
    for idx in group_by_modality(samples, adapter):
        batch = collate([samples[i] for i in idx], pad_id, padding_side="left", adapter=adapter)
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
                   media: list[Media] | None = None, wheres: list | None = None,
                   template_kwargs: list | None = None) -> list[Encoded]:
    """Each chat prompt as model input (``think=False``: direct mode, the family's way), media
    loaded once; ``wheres[i]`` names prompt i in errors (its file:line); ``template_kwargs[i]``:
    chat-template arguments of prompt i (a caller that applied the mode itself)."""
    adapter = as_adapter(processor)
    encoded = []
    for i, prompt in enumerate(prompts):
        kwargs: dict = dict(template_kwargs[i]) if template_kwargs is not None else {}
        if not think:
            prompt, kwargs = adapter.direct_prompt(prompt)
        med = media[i] if media is not None and media[i] is not None else None
        if med is None:
            med = collect_media(prompt, base_dirs[i] if base_dirs is not None else None)
        where = wheres[i] if wheres is not None and wheres[i] else f"prompt {i}"
        encoded.append(encode_sample(adapter, prompt, None, media=med, where=where, template_kwargs=kwargs))
    return encoded


def generate(model, processor, prompts: list[list[dict]], settings: GenerationSettings, *, think: bool = True,
             base_dirs: list | None = None, media: list[Media] | None = None,
             batch_size: int = 64, template_kwargs: list | None = None,
             wheres: list | None = None) -> list[Completion]:
    """Complete each chat prompt once (``generate_groups`` for n rollouts of one prompt).
    ``template_kwargs[i]``: chat-template arguments of prompt i (a family's direct mode, e.g.
    ``enable_thinking=False``, when the caller applied the mode itself)."""
    adapter = as_adapter(processor, model)
    results: list[Completion] = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start:start + batch_size]
        dirs = base_dirs[start:start + batch_size] if base_dirs is not None else None
        meds = media[start:start + batch_size] if media is not None else None
        where = wheres[start:start + batch_size] if wheres is not None else None
        kwargs = template_kwargs[start:start + batch_size] if template_kwargs is not None else None
        encoded = encode_prompts(adapter, chunk, think, dirs, meds, where, kwargs)
        results.extend(decode(model, adapter, encoded, 1, settings))
    return results


def generate_groups(model, processor, prompts: list[list[dict]], n: int, settings: GenerationSettings, *,
                    think: bool = True, base_dirs: list | None = None, media: list[Media] | None = None,
                    batch_size: int = 64, wheres: list | None = None) -> list[list[Completion]]:
    """``n`` completions of each chat prompt; every prompt is encoded and prefilled once.

    ``batch_size`` caps the sequences decoded together (at least one prompt's group).
    """
    adapter = as_adapter(processor, model)
    per_chunk = max(1, batch_size // max(1, n))
    groups: list[list[Completion]] = []
    for start in range(0, len(prompts), per_chunk):
        chunk = prompts[start:start + per_chunk]
        dirs = base_dirs[start:start + per_chunk] if base_dirs is not None else None
        meds = media[start:start + per_chunk] if media is not None else None
        where = wheres[start:start + per_chunk] if wheres is not None else None
        encoded = encode_prompts(adapter, chunk, think, dirs, meds, where)
        flat = decode(model, adapter, encoded, n, settings)
        groups.extend(flat[i * n:(i + 1) * n] for i in range(len(chunk)))
    return groups
