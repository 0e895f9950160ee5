"""Sampler–trainer mismatch: how far the rollout engine's log-probs are from the actor's.

vLLM samples with its own kernels (and, on GPU, often another precision), so the policy that
drew a token is not exactly the policy the trainer differentiates. Every step logs, per
domain, over the trained tokens:

* ``logp_abs_diff``: mean |log π_trainer(t) − log π_sampler(t)|;
* ``kl``: the k3 estimate of KL(π_sampler ‖ π_trainer) from the sampler's own draws,
  mean of r − 1 − log r with r = π_trainer / π_sampler (non-negative, unbiased).

Both come for free: the actor's first update pass computes π_trainer for exactly these tokens
(``MismatchSums``, summed per domain and over ranks).

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


class MismatchSums:
    """Per-domain sums of |Δ log p|, k3 and tokens over an update's trained tokens."""

    def __init__(self) -> None:
        self.sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])

    def add(self, trainer_logp: torch.Tensor, sampler_logp: torch.Tensor, mask: torch.Tensor,
            domains: list[str]) -> None:
        for (abs_sum, k3_sum, n), domain in zip(row_stats(trainer_logp, sampler_logp, mask).tolist(), domains):
            acc = self.sums[domain]
            acc[0] += abs_sum
            acc[1] += k3_sum
            acc[2] += n

    def means(self) -> dict[str, dict]:
        """``{domain: {logp_abs_diff, kl, tokens}}`` over domains with any known token."""
        return {d: {"logp_abs_diff": a[0] / a[2], "kl": a[1] / a[2], "tokens": int(a[2])}
                for d, a in sorted(self.sums.items()) if a[2] > 0}

    def reduced(self, domains: list[str]) -> MismatchSums:
        """The sums over all ranks (a collective: every rank calls it with the same ``domains``)."""
        import torch.distributed as dist

        from thinkvl.runtime.distributed import collective_device

        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return self
        t = torch.tensor([self.sums[d] if d in self.sums else [0.0, 0.0, 0.0] for d in domains],
                         dtype=torch.float64, device=collective_device())
        dist.all_reduce(t)
        out = MismatchSums()
        for d, row in zip(domains, t.tolist()):
            out.sums[d] = row
        return out


def log(metrics: dict, sums: MismatchSums, domains: list[str]) -> None:
    """Add the mismatch to a step's metrics: per domain, and ``mismatch`` over all domains.
    ``domains``: every domain of the step, the same list on every rank (see ``reduced``)."""
    total = sums.reduced(sorted(set(domains)))
    for domain, values in total.means().items():
        metrics["domains"].setdefault(domain, {}).update(
            {"mismatch_logp_abs_diff": values["logp_abs_diff"], "mismatch_kl": values["kl"]})
    everything = MismatchSums()
    for a in total.sums.values():
        everything.sums["all"] = [x + y for x, y in zip(everything.sums["all"], a)]
    if (overall := everything.means().get("all")) is not None:
        metrics["mismatch"] = overall
