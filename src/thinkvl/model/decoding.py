"""The decoding loop: batched completions with force-answering, shared by RL rollouts and the
evaluation harness (``model.generate`` is its front door).

GLM-4.1V's recipe: when thinking reaches its budget, append ``</think><answer>`` and let the
model answer within an answer budget, so a long think still ends in a gradable answer.

The loop is our own (one model forward per token with a KV cache) rather than Hugging Face's
``generate``, because ``generate`` spends most of an RL rollout on work that is not needed:

* a group of n rollouts shares its prompt: the prompt is prefilled (vision tower included)
  **once**, and its KV cache is repeated n times;
* force-answering happens inside the same loop: a row that reaches the think budget is fed
  ``</think><answer>`` (not sampled, never trained on) and goes on in the same cache, instead
  of a second ``generate`` call that re-encodes and re-prefills prompt and thoughts;
* rows that finished leave the batch (their cache rows are dropped);
* keys/values live in preallocated buffers (``model.kvcache``);
* prompts that cannot share a forward pass (``Family.batch_key``: GLM-4.1V cannot mix images
  and video) are prefilled apart, then decoded as one batch.

Next tokens are chosen as ``generate`` would (``model.next_token``); greedy decoding gives
exactly ``generate``'s tokens. What differs by family comes from its adapter: the stop ids
(the chat template's turn terminator), the tokens never sampled, the batching and positions of
the prefill, and whether ``</think>`` is one token (else the loop reads the text). The loop keeps
one growing KV buffer per layer, right for full attention only: a family with sliding-window
or hybrid layers (``Family.fast_decode`` False: Gemma 3) decodes through Hugging Face
``generate`` instead (``model.hf_decode``), with the same force-answering.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import torch
from transformers.cache_utils import Cache

from thinkvl.format import FORCE_ANSWER_SUFFIX, THINK_CLOSE
from thinkvl.model.compat import cache_kwargs, returned_cache
from thinkvl.model.families import as_adapter
from thinkvl.model.inputs import IGNORE, Encoded, collate, group_by_modality
from thinkvl.model.kvcache import BufferLayer, merge_caches
from thinkvl.model.next_token import NextToken, logits_processors
from thinkvl.model.positions import batch_positions
from thinkvl.model.settings import GenerationSettings


@dataclass
class Completion:
    text: str
    token_ids: list[int]
    forced: bool = False  # the answer was forced after the think budget ran out
    truncated: bool = False  # no end-of-sequence within the budgets
    sample: Encoded | None = field(default=None, repr=False)  # prompt + completion, for training
    logprobs: list[float | None] | None = field(default=None, repr=False)  # sampler's, per token (vLLM)


def eos_ids(model, tokenizer) -> set[int]:
    """The generation config's eos ids and the tokenizer's (a family adapter's ``stop_ids`` add
    the chat template's turn terminator)."""
    eos = model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


def stop_ids(model, adapter) -> set[int]:
    return eos_ids(model, adapter.tokenizer) | set(adapter.stop_ids)


def extend_sample(sample: Encoded, ids: list[int], trainable: list[bool] | None = None) -> Encoded:
    """The prompt sample followed by completion tokens; labels only where ``trainable``."""
    keep = trainable if trainable is not None else [False] * len(ids)
    return sample.extended(list(ids), [t if k else IGNORE for t, k in zip(ids, keep)])


def completion_text(adapter, ids: list[int], stops: set[int], prompt: Encoded | None = None) -> str:
    """Decoded completion for readers: stop tokens dropped, and what the rendered prompt already
    held of the response (an opened ``<think>``: ``Encoded.response_prefix``) put back in front."""
    text = adapter.tokenizer.decode([t for t in ids if t not in stops], skip_special_tokens=False)
    return (prompt.response_prefix if prompt is not None else adapter.opened_prefix) + text


DECODE_ATTENTION = "thinkvl_decode"


def _decode_attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None, **kwargs):
    """SDPA for prefill; for one new token per row, grouped-query attention as two matmuls.

    PyTorch's CPU SDPA kernel takes ~2.5x longer than the matmuls for a single query against a
    short cache with a padding mask (that call was a third of a decoding step).
    """
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    mask_ok = attention_mask is None or attention_mask.dtype == torch.bool
    if query.shape[2] != 1 or dropout or not mask_ok or kwargs.get("position_bias") is not None \
            or key.shape[-1] != value.shape[-1] or query.shape[1] % key.shape[1]:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, **kwargs)
    b, h, _, d = query.shape
    kv_heads = key.shape[1]
    q = query.reshape(b, kv_heads, h // kv_heads, d)  # query head i reads kv head i // group
    scores = torch.matmul(q, key.transpose(-1, -2)) * (scaling if scaling is not None else d ** -0.5)
    if attention_mask is not None:
        scores = scores.masked_fill(~attention_mask, float("-inf"))
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(value.dtype)
    out = torch.matmul(probs, value)  # (b, kv_heads, group, d)
    return out.reshape(b, 1, h, d), None


@contextmanager
def _decode_attention_for(model):
    """Route the language model's attention through ``_decode_attention`` (SDPA models only)."""
    config = model.config.get_text_config()
    if getattr(config, "_attn_implementation", None) != "sdpa":
        yield
        return
    from transformers.masking_utils import (
        ALL_MASK_ATTENTION_FUNCTIONS,
        AttentionMaskInterface,
        sdpa_mask,
    )
    from transformers.modeling_utils import AttentionInterface

    if DECODE_ATTENTION not in ALL_MASK_ATTENTION_FUNCTIONS:
        AttentionInterface.register(DECODE_ATTENTION, _decode_attention)
        AttentionMaskInterface.register(DECODE_ATTENTION, sdpa_mask)
    config._attn_implementation = DECODE_ATTENTION
    try:
        yield
    finally:
        config._attn_implementation = "sdpa"


def _prefill(model, samples: list[Encoded], pad_id: int, capacity: int, adapter):
    """Prefill a batch one forward can take (left-padded); returns the pieces of decoding state."""
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in collate(samples, pad_id, padding_side="left", adapter=adapter).items()}
    batch.pop("labels")
    mask = batch["attention_mask"]
    positions = batch_positions(model, batch, adapter)
    if positions.dim() == 3:
        next_pos = positions.masked_fill(mask[None] == 0, -1).amax(dim=(0, 2)) + 1
    else:
        next_pos = mask.sum(-1)
    cache = Cache(layer_class_to_replicate=partial(BufferLayer, capacity))
    out = model(**batch, position_ids=positions, **cache_kwargs(model, cache), use_cache=True, logits_to_keep=1)
    return returned_cache(out), out.logits[:, -1], batch["input_ids"], mask, next_pos


@dataclass
class Budgets:
    """What a row may still do: the think budget, the forced suffix, the answer budget."""

    think: int
    answer: int
    suffix: list[int]  # </think><answer> as token ids
    closed: Callable[[list[int]], bool]  # the ids closed their think block (by id, or by text)
    eos: set[int]


@dataclass
class Row:
    """One completion being decoded."""

    ids: list[int] = field(default_factory=list)
    trainable: list[bool] = field(default_factory=list)  # False: a forced token, never trained on
    forced: bool = False  # the think budget ran out before </think>
    finished: bool = False  # ended with an end-of-sequence token
    answering: bool = False  # past the think budget
    sampled: int = 0  # tokens sampled in the current phase
    queue: list[int] = field(default_factory=list)  # forced tokens still to feed
    closed_in_prompt: bool = False  # the prompt already closed the think block (enable_thinking=False)

    def end_thinking(self, b: Budgets) -> bool:
        """The think budget is used up: force the answer; True when nothing more is generated."""
        self.answering, self.sampled = True, 0
        if not (self.closed_in_prompt or b.closed(self.ids)):
            self.forced = True
            if b.answer == 0:  # nothing more to generate: the suffix closes the sample
                self.ids += b.suffix
                self.trainable += [False] * len(b.suffix)
            else:
                self.queue = list(b.suffix)
        return b.answer == 0

    def take(self, token: int, b: Budgets) -> bool:
        """Append the loop's token (a queued forced one was fed instead of sampling); True when
        the row is done."""
        self.ids.append(token)
        if self.queue:  # a forced suffix token: fed, not sampled
            self.queue.pop(0)
            self.trainable.append(False)
            return False
        self.trainable.append(True)
        self.sampled += 1
        if token in b.eos:
            self.finished = True
            return True
        if not self.answering and self.sampled >= b.think:
            return self.end_thinking(b)
        return self.answering and self.sampled >= b.answer


def new_rows(prompts: list[Encoded], n: int) -> list[Row]:
    return [Row(closed_in_prompt=THINK_CLOSE in p.response_prefix) for p in prompts for _ in range(n)]


def budgets_for(model, adapter, settings: GenerationSettings) -> Budgets:
    tok = adapter.tokenizer
    return Budgets(think=max(0, settings.think_budget), answer=max(0, settings.answer_budget),
                   suffix=tok(FORCE_ANSWER_SUFFIX, add_special_tokens=False)["input_ids"],
                   closed=adapter.think_closed, eos=stop_ids(model, adapter))


@torch.no_grad()
def decode_fast(model, adapter, prompts: list[Encoded], n: int, settings: GenerationSettings) -> list[Completion]:
    """``n`` completions of every encoded prompt (prompt-major order), with force-answering.

    Phase one samples up to ``think_budget`` tokens; a row without an end-of-sequence by then
    gets ``</think><answer>`` appended when its think block never closed (masked out of
    training) and up to ``answer_budget`` more sampled tokens. ``adapter``: the family adapter
    (or a processor).
    """
    if not prompts:
        return []
    adapter = as_adapter(adapter, model)
    tokenizer = adapter.tokenizer
    pad_id = tokenizer.pad_token_id
    budgets = budgets_for(model, adapter, settings)
    rows = new_rows(prompts, n)

    # Prefill each group of prompts one forward can take, then repeat every prompt's cache n times.
    capacity = (max(len(p.input_ids) for p in prompts) + budgets.think + len(budgets.suffix)
                + budgets.answer + 1)
    parts = []
    for idx in group_by_modality(prompts, adapter):
        cache, logits, input_ids, mask, next_pos = _prefill(model, [prompts[i] for i in idx], pad_id,
                                                            capacity, adapter)
        if n > 1:
            cache.batch_repeat_interleave(n)
            logits, input_ids, mask, next_pos = (t.repeat_interleave(n, dim=0)
                                                 for t in (logits, input_ids, mask, next_pos))
        parts.append((cache, logits, input_ids, mask, next_pos, [i * n + j for i in idx for j in range(n)]))
    width = max(p[2].shape[1] for p in parts)

    def left_pad(t: torch.Tensor, fill: int) -> torch.Tensor:
        return torch.nn.functional.pad(t, (width - t.shape[1], 0), value=fill)

    if len(parts) == 1:
        cache = parts[0][0]
    else:
        cache = merge_caches([p[0] for p in parts], [p[2].shape[1] for p in parts], capacity)
    logits = torch.cat([p[1] for p in parts])
    device = logits.device
    active = [rows[k] for p in parts for k in p[5]]  # the batch's rows, in cache order
    next_pos = torch.cat([p[4] for p in parts])
    seq = torch.full((len(active), capacity), pad_id, dtype=torch.long, device=device)
    seq[:, :width] = torch.cat([left_pad(p[2], pad_id) for p in parts])
    amask = torch.zeros((len(active), capacity), dtype=torch.bool, device=device)
    amask[:, :width] = torch.cat([left_pad(p[3], 0) for p in parts]).bool()
    del parts
    next_token = NextToken(*logits_processors(model, settings, pad_id, width, len(active), device,
                                              never=adapter.never_sample_ids))
    mrope = adapter.rope == "mrope"

    done = [row.end_thinking(budgets) if budgets.think == 0 else False for row in active]
    with _decode_attention_for(model):
        cur = width
        while True:
            # Drop rows that ended (when enough did: each drop copies the cache).
            n_done = sum(done)
            if n_done == len(active):
                break
            if n_done and n_done * 8 >= len(active):
                keep = [r for r in range(len(active)) if not done[r]]
                sel = torch.tensor(keep, device=device)
                cache.batch_select_indices(sel)
                logits, seq, amask, next_pos = (t.index_select(0, sel) for t in (logits, seq, amask, next_pos))
                active = [active[r] for r in keep]
                done = [False] * len(keep)
            tokens = next_token(seq[:, :cur], logits)
            for r, row in enumerate(active):
                if row.queue and not done[r]:
                    tokens[r] = row.queue[0]
            for r, (row, token) in enumerate(zip(active, tokens.tolist())):
                if not done[r]:
                    done[r] = row.take(token, budgets)
            if all(done):
                break
            if cur >= seq.shape[1]:  # only with a cache that grew: widen the bookkeeping too
                seq = torch.nn.functional.pad(seq, (0, seq.shape[1]), value=pad_id)
                amask = torch.nn.functional.pad(amask, (0, amask.shape[1]), value=False)
            seq[:, cur] = tokens
            amask[:, cur] = True
            cur += 1
            positions = next_pos.view(1, -1, 1).expand(3, -1, 1) if mrope else next_pos.view(-1, 1)
            # A ready (B, 1, 1, L) boolean mask: no per-token mask building inside the model.
            out = model(input_ids=tokens[:, None], attention_mask=amask[:, None, None, :cur], position_ids=positions,
                        **cache_kwargs(model, cache), use_cache=True, logits_to_keep=1)
            logits = out.logits[:, -1]
            next_pos = next_pos + 1

    return [Completion(text=completion_text(adapter, row.ids, budgets.eos, prompts[k // n]), token_ids=row.ids, forced=row.forced, truncated=not row.finished,
                       sample=extend_sample(prompts[k // n], row.ids, trainable=row.trainable))
            for k, row in enumerate(rows)]
