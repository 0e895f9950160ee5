"""Batched generation with force-answering, shared by RL rollouts and the evaluation harness.

GLM-4.1V's recipe: when thinking reaches its budget, append ``</think><answer>`` and let the
model answer within an answer budget, so a long think still ends in a gradable answer.

The decoding loop is our own (one model forward per token with a KV cache) rather than
Hugging Face's ``generate``, because ``generate`` spends most of an RL rollout on work that is
not needed:

* a group of n rollouts shares its prompt: the prompt is encoded (chat template, image
  processor) and prefilled (vision tower included) **once**, and its KV cache is repeated n
  times (``generate_groups``);
* force-answering happens inside the same loop: a row that reaches the think budget is fed
  ``</think><answer>`` (not sampled, never trained on) and goes on in the same cache, instead
  of a second ``generate`` call that re-encodes and re-prefills prompt and thoughts;
* rows that finished leave the batch (their cache rows are dropped), so no compute is spent
  on rows that already ended;
* keys/values live in preallocated buffers (one write per token instead of a ``torch.cat`` of
  the whole cache per token and layer, which was half of a decoding step);
* prompts of different modalities (one GLM-4.1V forward cannot mix images and video) are
  prefilled apart, then decoded as one batch.

Sampling is ``generate``'s own: the logits processors are built by the same Hugging Face code
from the model's generation config and the call's settings (suppressed tokens, temperature,
top-k, top-p, …); tokens are drawn from the processed distribution with the global torch RNG
(by inverse CDF, one uniform per row: a categorical draw like ``torch.multinomial``, which
costs 20x more on CPU). Greedy decoding gives exactly ``generate``'s tokens.
``sample_grouped`` (one plain ``generate`` call) stays for the OpenAI-compatible test server.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import torch
from transformers.cache_utils import Cache, DynamicLayer

from thinkvl.format import FORCE_ANSWER_SUFFIX, THINK_CLOSE, add_nothink
from thinkvl.model.compat import cache_kwargs, returned_cache
from thinkvl.model.suppress import never_sample_ids
from thinkvl.model.inputs import (
    Encoded,
    Media,
    collate,
    collect_media,
    encode_sample,
    group_by_modality,
)
from thinkvl.model.tokenizer import EOS


@dataclass(frozen=True)
class Sampling:
    """Decoding settings; the defaults are the report's (temperature 1.0, top-p 1.0)."""

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0: no top-k cut (the model's generation config may not sneak one in)
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
    logprobs: list[float | None] | None = field(default=None, repr=False)  # sampler's, per token (vLLM)


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


def _generate_kwargs(sampling: Sampling, max_new: int, pad_id: int) -> dict:
    kwargs = {"max_new_tokens": max_new, "pad_token_id": pad_id}
    if sampling.greedy:
        kwargs.update(do_sample=False, temperature=None, top_p=None)
    else:
        kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p,
                      top_k=sampling.top_k)
    return kwargs


@torch.no_grad()
def _sample(model, batch: dict, max_new: int, sampling: Sampling, pad_id: int) -> list[list[int]]:
    """Generate up to ``max_new`` tokens for a left-padded batch; returns new tokens per row."""
    labels = batch.pop("labels", None)
    out = model.generate(**batch, **_generate_kwargs(sampling, max_new, pad_id))
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


# --- prompts -----------------------------------------------------------------------------------
def encode_prompts(processor, prompts: list[list[dict]], sampling: Sampling = Sampling(),
                   base_dirs: list | None = None, media: list[Media] | None = None) -> list[Encoded]:
    """Each chat prompt as model input (direct mode appends /nothink), media loaded once."""
    encoded = []
    for i, prompt in enumerate(prompts):
        if not sampling.think:
            prompt = direct_prompt(prompt)
        med = media[i] if media is not None and media[i] is not None else None
        if med is None:
            med = collect_media(prompt, base_dirs[i] if base_dirs is not None else None)
        encoded.append(encode_sample(processor, prompt, None, media=med))
    return encoded


def generate(model, processor, prompts: list[list[dict]], sampling: Sampling = Sampling(),
             base_dirs: list | None = None, media: list[Media] | None = None,
             batch_size: int = 64) -> list[Completion]:
    """Complete each chat prompt once (``generate_groups`` for n rollouts of one prompt)."""
    results: list[Completion] = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start:start + batch_size]
        dirs = base_dirs[start:start + batch_size] if base_dirs is not None else None
        meds = media[start:start + batch_size] if media is not None else None
        encoded = encode_prompts(processor, chunk, sampling, dirs, meds)
        results.extend(decode(model, processor.tokenizer, encoded, 1, sampling))
    return results


def generate_groups(model, processor, prompts: list[list[dict]], n: int, sampling: Sampling = Sampling(),
                    base_dirs: list | None = None, media: list[Media] | None = None,
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
        encoded = encode_prompts(processor, chunk, sampling, dirs, meds)
        flat = decode(model, processor.tokenizer, encoded, n, sampling)
        groups.extend(flat[i * n:(i + 1) * n] for i in range(len(chunk)))
    return groups


# --- the decoding loop -------------------------------------------------------------------------
class _BufferLayer(DynamicLayer):
    """One layer's keys/values in a preallocated buffer: a write per token, views for attention."""

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = capacity
        self.length = 0

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        self.device = key_states.device
        b, h, _, d = key_states.shape
        self.kbuf = key_states.new_zeros(b, h, self.capacity, d)
        self.vbuf = value_states.new_zeros(b, value_states.shape[1], self.capacity, value_states.shape[-1])
        self.is_initialized = True

    def _views(self) -> None:
        self.keys = self.kbuf[:, :, :self.length]
        self.values = self.vbuf[:, :, :self.length]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.capacity:  # never expected (capacity = prompt + budgets); grow rather than fail
            grow = max(end, 2 * self.capacity) - self.capacity
            self.kbuf = torch.cat([self.kbuf, self.kbuf.new_zeros(*self.kbuf.shape[:2], grow, self.kbuf.shape[3])], 2)
            self.vbuf = torch.cat([self.vbuf, self.vbuf.new_zeros(*self.vbuf.shape[:2], grow, self.vbuf.shape[3])], 2)
            self.capacity += grow
        self.kbuf[:, :, self.length:end] = key_states
        self.vbuf[:, :, self.length:end] = value_states
        self.length = end
        self._views()
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.length

    def batch_repeat_interleave(self, repeats: int) -> None:
        if self.is_initialized:
            self.kbuf = self.kbuf.repeat_interleave(repeats, dim=0)
            self.vbuf = self.vbuf.repeat_interleave(repeats, dim=0)
            self._views()

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self.is_initialized:
            self.kbuf = self.kbuf.index_select(0, indices)
            self.vbuf = self.vbuf.index_select(0, indices)
            self._views()


def _merge_caches(caches: list[Cache], lengths: list[int], capacity: int) -> Cache:
    """Caches of separately prefilled batches as one, each right-aligned at the longest length
    (left padding, masked out by the attention mask)."""
    width = max(lengths)
    layers = []
    for li in range(len(caches[0].layers)):
        parts = [c.layers[li] for c in caches]
        rows = sum(p.kbuf.shape[0] for p in parts)
        kbuf = parts[0].kbuf.new_zeros(rows, parts[0].kbuf.shape[1], capacity, parts[0].kbuf.shape[3])
        vbuf = parts[0].vbuf.new_zeros(rows, parts[0].vbuf.shape[1], capacity, parts[0].vbuf.shape[3])
        r = 0
        for part, n in zip(parts, lengths):
            b = part.kbuf.shape[0]
            kbuf[r:r + b, :, width - n:width] = part.kbuf[:, :, :n]
            vbuf[r:r + b, :, width - n:width] = part.vbuf[:, :, :n]
            r += b
        layer = _BufferLayer(capacity)
        layer.kbuf, layer.vbuf, layer.length, layer.is_initialized = kbuf, vbuf, width, True
        layer.device = kbuf.device
        layer._views()
        layers.append(layer)
    return Cache(layers=layers)


def _logits_processors(model, sampling: Sampling, pad_id: int, prompt_len: int, batch: int, device):
    """The processors ``model.generate`` would apply with these settings (same HF code)."""
    kwargs = _generate_kwargs(sampling, 1, pad_id)
    kwargs["suppress_tokens"] = never_sample_ids(model.config, model.generation_config)
    config, _ = model._prepare_generation_config(None, **kwargs)
    model._prepare_special_tokens(config, True, device=device, batch_size=batch)
    return model._get_logits_processor(generation_config=config, input_ids_seq_length=prompt_len,
                                       encoder_input_ids=None, device=device, model_kwargs={}), config.do_sample


class _NextToken:
    """Next tokens from logits: ``generate``'s processors, then a draw (or argmax).

    When the processors are only the usual ones — suppressed tokens, temperature, top-k (what
    the tiny model's and most configs amount to) — sampling takes a cheaper, equivalent path:
    suppressed logits to -inf in place, the top-k candidates, and a draw among those k instead
    of masking, soft-maxing and drawing over the whole vocabulary (one difference: HF keeps
    every token tied with the k-th logit, this keeps k).
    """

    FAST = frozenset({"SuppressTokensLogitsProcessor", "TemperatureLogitsWarper", "TopKLogitsWarper"})

    def __init__(self, processors, do_sample: bool):
        self.processors, self.do_sample = processors, do_sample
        names = [type(p).__name__ for p in processors]
        self.fast = do_sample and set(names) <= self.FAST and len(set(names)) == len(names)
        self.suppress = self.temperature = self.top_k = None
        for proc in processors if self.fast else []:
            name = type(proc).__name__
            if name == "SuppressTokensLogitsProcessor":
                self.suppress = proc.suppress_tokens
            elif name == "TemperatureLogitsWarper":
                self.temperature = proc.temperature
            else:
                self.top_k = proc.top_k

    def __call__(self, seq: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        if not self.fast:
            scores = self.processors(seq, logits.float())
            return draw(torch.softmax(scores, dim=-1)) if self.do_sample else scores.argmax(dim=-1)
        scores = logits.float().clone()
        if self.suppress is not None and self.suppress.numel():
            scores.index_fill_(1, self.suppress.to(scores.device), float("-inf"))
        if self.temperature is not None:
            scores = scores / self.temperature
        if self.top_k is None:
            return draw(torch.softmax(scores, dim=-1))
        values, index = scores.topk(min(self.top_k, scores.shape[-1]), dim=-1, sorted=False)
        return index.gather(1, draw(torch.softmax(values, dim=-1))[:, None]).squeeze(1)


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


def draw(probs: torch.Tensor) -> torch.Tensor:
    """One token per row of ``probs`` (rows sum to 1) by inverse CDF with the global RNG.

    A zero-probability token (suppressed, outside top-k) is never drawn: the first CDF entry
    strictly above ``u`` cannot sit on a flat step.
    """
    cdf = probs.cumsum(dim=-1)
    u = torch.rand((probs.shape[0], 1), dtype=cdf.dtype, device=cdf.device) * cdf[:, -1:]
    idx = torch.searchsorted(cdf, u, right=True).clamp_(max=probs.shape[-1] - 1).squeeze(1)
    bad = probs.gather(1, idx[:, None]).squeeze(1) <= 0  # only by float rounding at the very top
    if bool(bad.any()):
        idx[bad] = probs[bad].argmax(dim=-1)
    return idx


def _rope_index(model):
    core = getattr(model, "model", None)
    return getattr(core, "get_rope_index", None)


def _prefill(model, samples: list[Encoded], pad_id: int, capacity: int, rope):
    """Prefill a modality-homogeneous batch (left-padded); returns the pieces of decoding state."""
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in collate(samples, pad_id, padding_side="left").items()}
    batch.pop("labels")
    mask = batch["attention_mask"]
    if rope is not None:
        kwargs = {k: batch[k] for k in ("image_grid_thw", "video_grid_thw") if k in batch}
        positions, _ = rope(batch["input_ids"], mm_token_type_ids=batch["mm_token_type_ids"],
                            attention_mask=mask, **kwargs)
        next_pos = positions.masked_fill(mask[None] == 0, -1).amax(dim=(0, 2)) + 1
    else:
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        next_pos = mask.sum(-1)
    cache = Cache(layer_class_to_replicate=partial(_BufferLayer, capacity))
    out = model(**batch, position_ids=positions, **cache_kwargs(model, cache), use_cache=True, logits_to_keep=1)
    return returned_cache(out), out.logits[:, -1], batch["input_ids"], mask, next_pos


@torch.no_grad()
def decode(model, tokenizer, prompts: list[Encoded], n: int, sampling: Sampling) -> list[Completion]:
    """``n`` completions of every encoded prompt (prompt-major order), with force-answering.

    Phase one samples up to ``think_budget`` tokens; a row without an end-of-sequence by then
    gets ``</think><answer>`` appended when its think block never closed (masked out of
    training) and up to ``answer_budget`` more sampled tokens.
    """
    if not prompts:
        return []
    pad_id = tokenizer.pad_token_id
    eos = eos_ids(model, tokenizer)
    suffix = tokenizer(FORCE_ANSWER_SUFFIX, add_special_tokens=False)["input_ids"]
    think_close = tokenizer.convert_tokens_to_ids(THINK_CLOSE)
    think_budget, answer_budget = max(0, sampling.think_budget), max(0, sampling.answer_budget)
    total = len(prompts) * n
    ids: list[list[int]] = [[] for _ in range(total)]
    trainable: list[list[bool]] = [[] for _ in range(total)]
    forced = [False] * total
    finished = [False] * total
    answering = [False] * total  # past the think budget
    sampled = [0] * total  # tokens sampled in the current phase
    queue: list[list[int]] = [[] for _ in range(total)]  # forced tokens still to feed

    def reach_think_budget(k: int) -> bool:
        """Row ``k`` used its think budget: force the answer; True when the row is done."""
        answering[k], sampled[k] = True, 0
        if think_close not in ids[k]:
            forced[k] = True
            if answer_budget == 0:  # nothing more to generate: the suffix closes the sample
                ids[k] += suffix
                trainable[k] += [False] * len(suffix)
            else:
                queue[k] = list(suffix)
        return answer_budget == 0

    types = getattr(model.config.get_text_config(), "layer_types", None) or []
    if any(t != "full_attention" for t in types):
        raise NotImplementedError(f"decoding assumes full-attention layers; {type(model).__name__} has {set(types)}")
    # Prefill each modality group once per prompt, then repeat every prompt's cache n times.
    rope = _rope_index(model)
    width_prompt = max(len(p.input_ids) for p in prompts)
    capacity = width_prompt + think_budget + len(suffix) + answer_budget + 1
    parts = []
    for idx in group_by_modality(prompts):
        cache, logits, input_ids, mask, next_pos = _prefill(model, [prompts[i] for i in idx], pad_id,
                                                            capacity, rope)
        if n > 1:
            cache.batch_repeat_interleave(n)
            logits, input_ids, mask, next_pos = (t.repeat_interleave(n, dim=0)
                                                 for t in (logits, input_ids, mask, next_pos))
        rows = [i * n + j for i in idx for j in range(n)]
        parts.append((cache, logits, input_ids, mask, next_pos, rows))
    width = max(p[2].shape[1] for p in parts)

    def left_pad(t: torch.Tensor, fill: int) -> torch.Tensor:
        return torch.nn.functional.pad(t, (width - t.shape[1], 0), value=fill)

    if len(parts) == 1:
        cache = parts[0][0]
    else:
        cache = _merge_caches([p[0] for p in parts], [p[2].shape[1] for p in parts], capacity)
    logits = torch.cat([p[1] for p in parts])
    device = logits.device
    rows_out = [r for p in parts for r in p[5]]  # active row -> output index
    next_pos = torch.cat([p[4] for p in parts])
    seq = torch.full((len(rows_out), capacity), pad_id, dtype=torch.long, device=device)
    seq[:, :width] = torch.cat([left_pad(p[2], pad_id) for p in parts])
    amask = torch.zeros((len(rows_out), capacity), dtype=torch.bool, device=device)
    amask[:, :width] = torch.cat([left_pad(p[3], 0) for p in parts]).bool()
    del parts
    next_token = _NextToken(*_logits_processors(model, sampling, pad_id, width, len(rows_out), device))
    mrope = rope is not None

    done = [False] * len(rows_out)
    if think_budget == 0:
        for r, k in enumerate(rows_out):
            done[r] = reach_think_budget(k)
    with _decode_attention_for(model):
        cur = width
        while True:
            # Drop rows that ended (when enough did: each drop copies the cache).
            n_done = sum(done)
            if n_done == len(rows_out):
                break
            if n_done and n_done * 8 >= len(rows_out):
                keep = [r for r in range(len(rows_out)) if not done[r]]
                sel = torch.tensor(keep, device=device)
                cache.batch_select_indices(sel)
                logits, seq, amask, next_pos = (t.index_select(0, sel) for t in (logits, seq, amask, next_pos))
                rows_out = [rows_out[r] for r in keep]
                done = [False] * len(keep)
            tokens = next_token(seq[:, :cur], logits)
            for r, k in enumerate(rows_out):
                if queue[k] and not done[r]:
                    tokens[r] = queue[k][0]
            values = tokens.tolist()
            for r, k in enumerate(rows_out):
                if done[r]:
                    continue
                tok = values[r]
                ids[k].append(tok)
                if queue[k]:  # a forced suffix token: fed, not sampled
                    queue[k].pop(0)
                    trainable[k].append(False)
                    continue
                trainable[k].append(True)
                sampled[k] += 1
                if tok in eos:
                    finished[k] = done[r] = True
                elif not answering[k] and sampled[k] >= think_budget:
                    done[r] = reach_think_budget(k)
                elif answering[k] and sampled[k] >= answer_budget:
                    done[r] = True
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

    out = []
    for k in range(total):
        text = tokenizer.decode([t for t in ids[k] if t not in eos], skip_special_tokens=False)
        out.append(Completion(text=text, token_ids=ids[k], forced=forced[k], truncated=not finished[k],
                              sample=extend_sample(prompts[k // n], ids[k], trainable=trainable[k])))
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
