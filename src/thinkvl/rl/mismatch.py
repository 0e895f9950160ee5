"""Sampler–trainer mismatch: how far the rollout engine's log-probs are from the actor's.

vLLM samples with its own kernels (and, on GPU, often another precision), so the policy that
drew a token is not exactly the policy the trainer differentiates. Every step logs, per
domain, over the trained tokens:

* ``logp_abs_diff``: mean |log π_trainer(t) − log π_sampler(t)|;
* ``kl``: the k3 estimate of KL(π_sampler ‖ π_trainer) from the sampler's own draws,
  mean of r − 1 − log r with r = π_trainer / π_sampler (non-negative, unbiased).

Both come for free: the actor's first update pass computes π_trainer for exactly these tokens.

``rl.importance_correction: tis`` corrects the update for the mismatch with truncated
importance sampling (Yao et al., 2025): each token's clipped surrogate is weighted by
min(π_old / π_sampler, cap), π_old being the trainer's log-prob before the update; the weight
carries no gradient. Off by default. Tokens without a sampler log-prob (fed tokens, an engine
that reports none) get weight 1 and are left out of the metrics.
"""

from __future__ import annotations

from collections import defaultdict

import torch


def sampler_matrix(logprobs: list[list[float | None] | None], shape: tuple[int, int],
                   device=None) -> torch.Tensor:
    """(B, C) sampler log-probs aligned with the actor's completion columns; NaN where unknown."""
    out = torch.full(shape, float("nan"), dtype=torch.float32)
    for r, row in enumerate(logprobs):
        if row:
            vals = torch.tensor([float("nan") if v is None else v for v in row[:shape[1]]])
            out[r, :len(vals)] = vals
    return out.to(device) if device is not None else out


def row_stats(trainer_logp: torch.Tensor, sampler_logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per row: (sum |Δ log p|, sum k3, tokens) over trained tokens with a sampler log-prob."""
    known = mask & ~torch.isnan(sampler_logp)
    delta = torch.where(known, trainer_logp.detach().float() - sampler_logp.nan_to_num(0.0), 0.0)
    k3 = torch.where(known, torch.exp(delta) - 1.0 - delta, 0.0)
    return torch.stack([delta.abs().sum(1), k3.sum(1), known.sum(1).float()], dim=1).cpu()


def tis_weights(old_logp: torch.Tensor, sampler_logp: torch.Tensor, cap: float) -> torch.Tensor:
    """min(π_old / π_sampler, cap) per token, 1 where the sampler's log-prob is unknown."""
    ratio = torch.exp(old_logp.detach().float() - sampler_logp.nan_to_num(0.0)).clamp(max=cap)
    return torch.where(torch.isnan(sampler_logp), torch.ones_like(ratio), ratio)


def domain_mismatch(stats: list[tuple[float, float, float]], domains: list[str]) -> dict[str, dict]:
    """Per-sample sums → per-domain means: ``{domain: {logp_abs_diff, kl, tokens}}``."""
    acc: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for (abs_sum, kl_sum, n), domain in zip(stats, domains):
        a = acc[domain]
        a[0] += abs_sum
        a[1] += kl_sum
        a[2] += n
    return {d: {"logp_abs_diff": a[0] / a[2], "kl": a[1] / a[2], "tokens": int(a[2])}
            for d, a in sorted(acc.items()) if a[2] > 0}


def update_args(algo, sampled_logprobs: list) -> dict:
    """``Actor.update`` keyword arguments: the sampler's log-probs when the engine reported
    any, and the TIS cap when ``rl.importance_correction`` is ``tis``."""
    if not any(lp is not None for lp in sampled_logprobs):
        return {}
    cap = algo.importance_cap if algo.importance_correction == "tis" else None
    return {"sampler_logprobs": sampled_logprobs, "importance_cap": cap}


def pairs(rows: list | None, domains: list[str]) -> list[tuple]:
    """(row statistics, domain) of each trained sample that has them."""
    return [(st, d) for st, d in zip(rows or [], domains) if st is not None]


def log(metrics: dict, gathered: list[tuple]) -> None:
    """Add the mismatch to a step's metrics: per domain, and ``mismatch`` over all domains."""
    if not gathered:
        return
    stats, domains = [p[0] for p in gathered], [p[1] for p in gathered]
    for domain, values in domain_mismatch(stats, domains).items():
        metrics["domains"].setdefault(domain, {}).update(
            {"mismatch_logp_abs_diff": values["logp_abs_diff"], "mismatch_kl": values["kl"]})
    metrics["mismatch"] = domain_mismatch(stats, ["all"] * len(stats)).get("all")
