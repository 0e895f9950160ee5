"""Decoding through Hugging Face ``generate`` for families thinkvl's own loop cannot serve.

The loop in ``model.decoding`` keeps one growing KV buffer per layer, which is right for full
attention only. A family with sliding-window or hybrid layers (``Family.fast_decode`` False:
Gemma 3 alternates local and global layers) decodes here instead, through ``generate`` and the
cache transformers builds for it, with the same contract as the loop:

* phase one: up to ``think_budget`` tokens, stopping at the family's stop ids;
* force-answering: a row that used its think budget without closing ``</think>`` gets
  ``</think><answer>`` appended (fed, never trained on), and every row still open gets a second
  ``generate`` over prompt + its tokens for up to ``answer_budget`` more;
* the same never-sampled ids, the same ``Completion`` (labels only on sampled tokens).

It costs what the loop saves (the prompt is prefilled per rollout and again for the answer),
which is why the loop stays the default wherever it applies.
"""

from __future__ import annotations

import torch

from thinkvl.model.decoding import Budgets, Completion, budgets_for, completion_text, extend_sample, new_rows
from thinkvl.model.inputs import Encoded, collate, group_by_modality
from thinkvl.model.settings import GenerationSettings
from thinkvl.model.suppress import never_sample_ids


def _generate(model, adapter, samples: list[Encoded], max_new: int, settings: GenerationSettings,
              b: Budgets) -> list[list[int]]:
    """New tokens of each sample (left-padded batches one forward can take), cut after a stop id."""
    pad_id = adapter.tokenizer.pad_token_id
    device = next(model.parameters()).device
    kwargs = settings.hf_kwargs(max_new, pad_id)
    kwargs.update(eos_token_id=sorted(b.eos),
                  suppress_tokens=never_sample_ids(model.config, model.generation_config, adapter.never_sample_ids))
    out: list[list[int]] = [[] for _ in samples]
    for idx in group_by_modality(samples, adapter):
        batch = collate([samples[i] for i in idx], pad_id, padding_side="left", adapter=adapter)
        batch.pop("labels")
        batch = {k: v.to(device) for k, v in batch.items()}
        width = batch["input_ids"].shape[1]
        for i, row in zip(idx, model.generate(**batch, **kwargs)):
            ids = row[width:].tolist()
            stop = next((j for j, t in enumerate(ids) if t in b.eos), None)
            out[i] = ids[:stop + 1] if stop is not None else ids
    return out


@torch.no_grad()
def decode_with_generate(model, adapter, prompts: list[Encoded], n: int,
                         settings: GenerationSettings) -> list[Completion]:
    """``decoding.decode_fast``'s result, computed with ``generate`` (prompt-major, n per prompt)."""
    b = budgets_for(model, adapter, settings)
    rows = new_rows(prompts, n)
    done = [row.end_thinking(b) if b.think == 0 else False for row in rows]
    if b.think > 0:
        first = _generate(model, adapter, [p for p in prompts for _ in range(n)], b.think, settings, b)
        for k, (row, ids) in enumerate(zip(rows, first)):
            for token in ids:
                done[k] = row.take(token, b)
                if done[k]:
                    break
    todo = [k for k, row in enumerate(rows) if not done[k] and not row.finished and b.answer > 0]
    for k in todo:
        row = rows[k]
        if not row.answering:  # stopped short of the think budget without a stop id: cannot happen
            row.end_thinking(b)  # in generate, but keep the contract
        row.ids += row.queue  # the forced </think><answer>: fed, not trained on
        row.trainable += [False] * len(row.queue)
        row.queue = []
    if todo:
        heads = [extend_sample(prompts[k // n], rows[k].ids) for k in todo]
        for k, ids in zip(todo, _generate(model, adapter, heads, b.answer, settings, b)):
            for token in ids:
                if rows[k].take(token, b):
                    break
    return [Completion(text=completion_text(adapter, row.ids, b.eos, prompts[k // n]), token_ids=row.ids,
                       forced=row.forced,
                       truncated=not row.finished,
                       sample=extend_sample(prompts[k // n], row.ids, trainable=row.trainable))
            for k, row in enumerate(rows)]
