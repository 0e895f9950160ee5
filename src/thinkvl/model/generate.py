"""Batched generation with force-answering, shared by RL rollouts and the evaluation harness.

GLM-4.1V's recipe: when thinking reaches its budget, append ``</think><answer>`` and let the
model answer within an answer budget, so a long think still ends in a gradable answer. Phase
one samples up to ``think_budget`` new tokens; unfinished samples continue in one batched
second phase (with the suffix forced in where the think block never closed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from thinkvl.format import FORCE_ANSWER_SUFFIX, THINK_CLOSE, add_nothink
from thinkvl.model.inputs import Encoded, Media, collate, collect_media, encode_sample, group_by_modality
from thinkvl.model.tokenizer import EOS


@dataclass(frozen=True)
class Sampling:
    """Decoding settings; the defaults are the report's (temperature 1.0, top-p 1.0)."""

    temperature: float = 1.0
    top_p: float = 1.0
    greedy: bool = False
    think_budget: int = 64
    answer_budget: int = 24
    think: bool = True  # False: direct mode, the user turn ends with /nothink


@dataclass
class Completion:
    text: str
    token_ids: list[int]
    forced: bool = False  # the answer was forced after the think budget ran out
    truncated: bool = False  # no end-of-sequence within the budgets
    sample: Encoded | None = field(default=None, repr=False)  # prompt + completion, for training


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


def eos_ids(model, tokenizer) -> set[int]:
    eos = model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    ids.add(tokenizer.convert_tokens_to_ids(EOS))
    return ids


@torch.no_grad()
def _sample(model, batch: dict, max_new: int, sampling: Sampling, pad_id: int) -> list[list[int]]:
    """Generate up to ``max_new`` tokens for a left-padded batch; returns new tokens per row."""
    kwargs = dict(max_new_tokens=max_new, pad_token_id=pad_id)
    if sampling.greedy:
        kwargs.update(do_sample=False, temperature=None, top_p=None)
    else:
        kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
    labels = batch.pop("labels", None)
    out = model.generate(**batch, **kwargs)
    if labels is not None:
        batch["labels"] = labels
    width = batch["input_ids"].shape[1]
    return [row[width:].tolist() for row in out]


def sample_grouped(model, samples: list[Encoded], max_new: int, sampling: Sampling,
                    pad_id: int) -> list[list[int]]:
    """``_sample`` over modality-homogeneous sub-batches, results in the original order."""
    out: list[list[int]] = [[] for _ in samples]
    for idx in group_by_modality(samples):
        batch = collate([samples[i] for i in idx], pad_id, padding_side="left")
        for i, ids in zip(idx, _sample(model, batch, max_new, sampling, pad_id)):
            out[i] = ids
    return out


def trim_at_eos(ids: list[int], eos: set[int], pad_id: int) -> tuple[list[int], bool]:
    """Cut at the first end-of-sequence token (kept); report whether one was found."""
    for i, tok in enumerate(ids):
        if tok in eos:
            return ids[: i + 1], True
    return [t for t in ids if t != pad_id], False


def generate(model, processor, prompts: list[list[dict]], sampling: Sampling = Sampling(),
             base_dirs: list | None = None, media: list[Media] | None = None,
             batch_size: int = 64) -> list[Completion]:
    """Complete each chat prompt once (repeat prompts in the list for groups of rollouts)."""
    results: list[Completion] = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start:start + batch_size]
        dirs = (base_dirs or [None] * len(prompts))[start:start + batch_size]
        meds = (media or [None] * len(prompts))[start:start + batch_size]
        results.extend(_generate_chunk(model, processor, chunk, sampling, dirs, meds))
    return results


def _generate_chunk(model, processor, prompts, sampling, base_dirs, media) -> list[Completion]:
    tok = processor.tokenizer
    pad_id = tok.pad_token_id
    eos = eos_ids(model, tok)
    if not sampling.think:
        prompts = [direct_prompt(p) for p in prompts]
    encoded = []
    for prompt, base, med in zip(prompts, base_dirs, media):
        med = med if med is not None else collect_media(prompt, base)
        encoded.append(encode_sample(processor, prompt, None, media=med))
    first = sample_grouped(model, encoded, sampling.think_budget, sampling, pad_id)

    suffix = tok(FORCE_ANSWER_SUFFIX, add_special_tokens=False)["input_ids"]
    think_close = tok.convert_tokens_to_ids(THINK_CLOSE)
    completions: list[list[int]] = []
    sampled: list[list[bool]] = []  # False on forced suffix tokens: the policy did not choose them
    forced = [False] * len(prompts)
    pending: list[int] = []
    for i, ids in enumerate(first):
        ids, done = trim_at_eos(ids, eos, pad_id)
        mask = [True] * len(ids)
        if not done:
            if think_close not in ids:
                ids = ids + suffix
                mask = mask + [False] * len(suffix)
                forced[i] = True
            pending.append(i)
        completions.append(ids)
        sampled.append(mask)

    finished = {i: True for i in range(len(prompts)) if i not in pending}
    if pending and sampling.answer_budget > 0:
        cont = [extend_sample(encoded[i], completions[i]) for i in pending]
        second = sample_grouped(model, cont, sampling.answer_budget, sampling, pad_id)
        for i, ids in zip(pending, second):
            ids, done = trim_at_eos(ids, eos, pad_id)
            completions[i] = completions[i] + ids
            sampled[i] = sampled[i] + [True] * len(ids)
            finished[i] = done

    out = []
    for i, ids in enumerate(completions):
        text = tok.decode([t for t in ids if t not in eos], skip_special_tokens=False)
        out.append(Completion(text=text, token_ids=ids, forced=forced[i],
                              truncated=not finished.get(i, False),
                              sample=extend_sample(encoded[i], ids, trainable=sampled[i])))
    return out


def extend_sample(sample: Encoded, ids: list[int], trainable: list[bool] | None = None) -> Encoded:
    """The prompt sample followed by completion tokens; labels only where ``trainable``."""
    keep = trainable if trainable is not None else [False] * len(ids)
    return Encoded(
        input_ids=sample.input_ids + ids,
        labels=sample.labels + [t if k else -100 for t, k in zip(ids, keep)],
        mm_token_type_ids=sample.mm_token_type_ids + [0] * len(ids),
        prompt_len=sample.prompt_len,
        vision=sample.vision,
    )
