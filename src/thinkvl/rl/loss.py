"""Policy losses, in a registry (as verl's ``core_algos``), and how token losses become one number.

A policy loss maps each trained token's log-probability under the current policy, under the
policy that sampled it (``old_logp``) and its sample's advantage to a per-token loss, and says
which tokens a trust-region bound held (their gradient is zero). ``rl.loss`` in the recipe picks
one by name; ``register_policy_loss`` adds another without touching the actor. The default,
``clipped``, is PPO-style clipping with clip-higher (DAPO's ε_low 0.2 / ε_high 0.28), with no
KL and no entropy bonus, as the GLM-4.1V report chose.

Normalisation (``policy_loss``) decides how token losses become one number:
- ``sample`` (default; the report found it more stable): token mean within each sample,
  then a mean over samples;
- ``token`` (DAPO): the sum over all tokens divided by the batch's token count.
Micro-batches pass their optimizer step's sample and token counts (over all ranks), so the
accumulated gradient equals that step's full-batch gradient however it is split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

# (logp, old_logp, adv, clip_low, clip_high) -> (per-token loss, tokens a bound held)
TokenLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float, float], tuple[torch.Tensor, torch.Tensor]]
POLICY_LOSSES: dict[str, TokenLoss] = {}


def register_policy_loss(name: str) -> Callable[[TokenLoss], TokenLoss]:
    def wrap(fn: TokenLoss) -> TokenLoss:
        POLICY_LOSSES[name] = fn
        return fn

    return wrap


def get_policy_loss(name: str) -> TokenLoss:
    if name not in POLICY_LOSSES:
        raise ValueError(f"unknown policy loss {name!r} (rl.loss); expected one of {sorted(POLICY_LOSSES)}")
    return POLICY_LOSSES[name]


@register_policy_loss("clipped")
def clipped_token_loss(logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor,
                       clip_low: float, clip_high: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token −min(ρA, clip(ρ, 1−ε_low, 1+ε_high)A) and a mask of the tokens a bound held
    (A > 0 above 1+ε_high, A < 0 below 1−ε_low)."""
    ratio = torch.exp(logp - old_logp)
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * adv
    loss = -torch.minimum(unclipped, clipped)
    return loss, (clipped < unclipped)


@dataclass
class LossOut:
    """A micro-batch's loss and its token statistics (detached sums, reduced by the caller)."""

    loss: torch.Tensor
    tokens: torch.Tensor  # trained tokens
    clipped_low: torch.Tensor  # tokens held by the lower bound (ratio < 1 − ε_low, A < 0)
    clipped_high: torch.Tensor  # tokens held by the upper bound (ratio > 1 + ε_high, A > 0)
    ratio_deviation: torch.Tensor  # Σ |ratio − 1| over trained tokens


def policy_loss(logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor, mask: torch.Tensor,
                clip_low: float = 0.2, clip_high: float = 0.28, normalization: str = "sample",
                total_samples: int | None = None, total_tokens: int | None = None,
                loss: str = "clipped", token_weights: torch.Tensor | None = None) -> LossOut:
    """The registered policy loss ``loss`` over a micro-batch, normalised.

    ``logp``/``old_logp``/``mask``: (B, T) over completion positions; ``adv``: (B,) per sample.
    ``total_samples`` / ``total_tokens`` are the counts of the whole optimizer step, over all
    ranks (defaults: this micro-batch's). ``token_weights``: (B, T) constants multiplying each
    token's loss (truncated importance sampling, ``rl.importance_correction``); None: all 1.
    """
    mask = mask.to(logp.dtype)
    token_loss, held = get_policy_loss(loss)(logp, old_logp, adv[:, None], clip_low, clip_high)
    token_loss = token_loss * mask
    if token_weights is not None:
        token_loss = token_loss * token_weights.detach().to(token_loss.dtype)
    if normalization == "sample":
        per_sample = token_loss.sum(1) / mask.sum(1).clamp(min=1)
        value = per_sample.sum() / (total_samples or logp.shape[0])
    elif normalization == "token":
        value = token_loss.sum() / (total_tokens or mask.sum().clamp(min=1))
    else:
        raise ValueError(f"unknown loss normalization {normalization!r}; expected 'sample' or 'token'")
    with torch.no_grad():
        ratio = torch.exp(logp - old_logp)
        held = held.to(mask.dtype) * mask
        out = LossOut(loss=value, tokens=mask.sum(), clipped_low=(held * (ratio < 1)).sum(),
                      clipped_high=(held * (ratio > 1)).sum(),
                      ratio_deviation=((ratio - 1).abs() * mask).sum())
    return out


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimator of KL(π‖π_ref) (off by default; the report dropped KL)."""
    delta = ref_logp - logp
    return torch.exp(delta) - delta - 1.0
