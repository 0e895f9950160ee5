"""Choosing the next token: ``generate``'s own logits processors, then a draw.

The processors are built by the same Hugging Face code from the model's generation config and
the call's settings (suppressed tokens, temperature, top-k, top-p, …); the placeholder tokens a
policy must never sample are added to the suppressed ones. Tokens are drawn from the processed
distribution with the global torch RNG by inverse CDF, one uniform per row (a categorical draw
like ``torch.multinomial``, which costs 20x more on CPU). Greedy decoding gives exactly
``generate``'s tokens.
"""

from __future__ import annotations

import torch

from thinkvl.model.settings import GenerationSettings
from thinkvl.model.suppress import never_sample_ids


def logits_processors(model, settings: GenerationSettings, pad_id: int, prompt_len: int, batch: int,
                      device, never=()):
    """The processors ``model.generate`` would apply with these settings (same HF code);
    ``never``: more ids never to sample (the family adapter's ``never_sample_ids``)."""
    kwargs = settings.hf_kwargs(1, pad_id)
    kwargs["suppress_tokens"] = never_sample_ids(model.config, model.generation_config, never)
    config, _ = model._prepare_generation_config(None, **kwargs)
    model._prepare_special_tokens(config, True, device=device, batch_size=batch)
    return model._get_logits_processor(generation_config=config, input_ids_seq_length=prompt_len,
                                       encoder_input_ids=None, device=device, model_kwargs={}), config.do_sample


class NextToken:
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
