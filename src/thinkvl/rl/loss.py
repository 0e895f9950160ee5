"""Policy losses, in a registry. The default is PPO-style clipping with clip-higher (DAPO's
ε_low 0.2 / ε_high 0.28), no KL and no entropy bonus, as the GLM-4.1V report chose.

Normalisation decides how token losses become one number:
- ``sample`` (default; the report found it more stable): token mean within each sample,
  then a mean over samples;
- ``token`` (DAPO): the sum over all tokens divided by the batch's token count.
Micro-batches pass the whole batch's sample and token counts, so the accumulated gradient
equals the full-batch gradient however the batch is split.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class LossOut:
    loss: torch.Tensor
    clip_fraction: float  # share of tokens whose ratio was clipped (and the clip bound mattered)
    ratio_mean: float


def clipped_token_loss(logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor,
                       clip_low: float, clip_high: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token −min(ρA, clip(ρ, 1−ε_low, 1+ε_high)A) and a mask of clipped tokens."""
    ratio = torch.exp(logp - old_logp)
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * adv
    loss = -torch.minimum(unclipped, clipped)
    return loss, (clipped < unclipped)


def policy_loss(logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor, mask: torch.Tensor,
                clip_low: float = 0.2, clip_high: float = 0.28, normalization: str = "sample",
                total_samples: int | None = None, total_tokens: int | None = None,
                token_weights: torch.Tensor | None = None) -> LossOut:
    """Clipped surrogate over a micro-batch.

    ``logp``/``old_logp``/``mask``: (B, T) over completion positions; ``adv``: (B,) per sample.
    ``total_samples`` / ``total_tokens`` are the counts of the *whole* batch (defaults: this one).
    ``token_weights``: (B, T) constants multiplying each token's loss (truncated importance
    sampling, ``rl.mismatch``); None: all 1.
    """
    mask = mask.to(logp.dtype)
    token_loss, was_clipped = clipped_token_loss(logp, old_logp, adv[:, None], clip_low, clip_high)
    token_loss = token_loss * mask
    if token_weights is not None:
        token_loss = token_loss * token_weights.detach().to(token_loss.dtype)
    if normalization == "sample":
        per_sample = token_loss.sum(1) / mask.sum(1).clamp(min=1)
        loss = per_sample.sum() / (total_samples or logp.shape[0])
    elif normalization == "token":
        loss = token_loss.sum() / (total_tokens or mask.sum().clamp(min=1))
    else:
        raise ValueError(f"unknown loss normalization {normalization!r}; expected 'sample' or 'token'")
    n = mask.sum().clamp(min=1)
    with torch.no_grad():
        clip_fraction = float((was_clipped.to(mask.dtype) * mask).sum() / n)
        ratio_mean = float((torch.exp(logp - old_logp) * mask).sum() / n)
    return LossOut(loss=loss, clip_fraction=clip_fraction, ratio_mean=ratio_mean)


def token_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of each position's next-token distribution (reported; a bonus only if asked)."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimator of KL(π‖π_ref) (off by default; the report dropped KL)."""
    delta = ref_logp - logp
    return torch.exp(delta) - delta - 1.0
