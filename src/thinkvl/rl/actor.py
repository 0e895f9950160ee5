"""The actor: log-probabilities of sampled tokens and the clipped policy-gradient update.

Micro-batches are modality-homogeneous (GLM-4.1V cannot mix images and video in one forward)
and length-sorted (little compute spent on padding); each micro-batch's loss is scaled by the
whole batch's sample or token count, so accumulation equals one full-batch gradient. Under
FSDP every rank runs the same number of micro-batches (zero-weight fillers where one has
fewer), because each forward/backward is a collective.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist

from thinkvl.model.inputs import IGNORE, Encoded, collate, group_by_modality
from thinkvl.rl.loss import kl_k3, policy_loss, token_entropy


@dataclass
class MicroBatch:
    rows: list[int]  # indices into the step's samples
    weight: float = 1.0  # 0 for a filler that only keeps ranks in lockstep


def plan_micro_batches(samples: list[Encoded], size: int) -> list[MicroBatch]:
    """Length-sorted, modality-homogeneous micro-batches of at most ``size`` sequences."""
    plan = []
    for group in group_by_modality(samples):
        group = sorted(group, key=lambda i: len(samples[i].input_ids))
        plan.extend(MicroBatch(group[i:i + size]) for i in range(0, len(group), size))
    return plan


def sequence_logprobs(model, batch: dict, temperature: float = 1.0, with_entropy: bool = False):
    """Log-probabilities of each label token under ``model`` (positions without loss masked)."""
    labels = batch["labels"]
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs, use_cache=False).logits[:, :-1].float() / temperature
    targets = labels[:, 1:]
    mask = targets != IGNORE
    logp = torch.log_softmax(logits, dim=-1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    entropy = token_entropy(logits) if with_entropy else None
    return logp * mask, mask, entropy


class Actor:
    def __init__(self, model, pad_id: int, *, lr: float, weight_decay: float = 0.0,
                 betas=(0.9, 0.99), grad_clip: float = 1.0, warmup_steps: int = 0,
                 clip_low: float = 0.2, clip_high: float = 0.28, normalization: str = "sample",
                 kl_coef: float = 0.0, entropy_coef: float = 0.0, micro_batch: int = 32,
                 updates_per_batch: int = 1, temperature: float = 1.0, reference=None):
        self.model = model
        self.pad_id = pad_id
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=betas)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: min(1.0, (step + 1) / max(1, warmup_steps)))
        self.grad_clip = grad_clip
        self.clip = (clip_low, clip_high)
        self.normalization = normalization
        self.kl_coef = kl_coef
        self.entropy_coef = entropy_coef
        self.micro_batch = micro_batch
        self.updates_per_batch = updates_per_batch
        self.temperature = temperature
        self.reference = reference  # frozen copy, only when kl_coef > 0

    def _batch(self, samples: list[Encoded], rows: list[int]) -> dict:
        device = next(self.model.parameters()).device
        return {k: v.to(device) for k, v in collate([samples[i] for i in rows], self.pad_id).items()}

    def _lockstep(self, plan: list[MicroBatch]) -> list[MicroBatch]:
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return plan
        count = torch.tensor([len(plan)])
        dist.all_reduce(count, op=dist.ReduceOp.MAX)
        filler = plan[0].rows if plan else []
        return plan + [MicroBatch(filler, weight=0.0) for _ in range(int(count) - len(plan))]

    @torch.no_grad()
    def _old_logprobs(self, samples, plan) -> dict[int, torch.Tensor]:
        old = {}
        for mb in plan:
            logp, _, _ = sequence_logprobs(self.model, self._batch(samples, mb.rows), self.temperature)
            for j, row in enumerate(mb.rows):
                old[row] = logp[j].detach()
        return old

    def update(self, samples: list[Encoded], advantages: list[float], total_samples: int | None = None,
               total_tokens: int | None = None) -> dict:
        """One or more optimizer updates on a rollout batch; returns training statistics.

        ``total_samples``/``total_tokens``: the counts over all ranks (defaults: this rank's).
        """
        if not samples:
            raise ValueError("no samples to train on")
        world = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        n_samples = total_samples or len(samples)
        n_tokens = total_tokens or sum(sum(l != IGNORE for l in s.labels) for s in samples)
        plan = self._lockstep(plan_micro_batches(samples, self.micro_batch))
        adv_all = torch.tensor(advantages, dtype=torch.float32)
        old = self._old_logprobs(samples, plan) if self.updates_per_batch > 1 else None
        stats = {"clip_fraction": 0.0, "entropy": 0.0, "kl": 0.0, "grad_norm": 0.0, "loss": 0.0}
        token_count = 0
        self.model.train()
        for _ in range(self.updates_per_batch):
            self.optimizer.zero_grad(set_to_none=True)
            for mb in plan:
                batch = self._batch(samples, mb.rows)
                logp, mask, entropy = sequence_logprobs(self.model, batch, self.temperature, with_entropy=True)
                old_logp = (torch.stack([old[r] for r in mb.rows]) if old is not None else logp.detach())
                adv = adv_all[mb.rows].to(logp.device)
                out = policy_loss(logp, old_logp, adv, mask, *self.clip, normalization=self.normalization,
                                  total_samples=n_samples, total_tokens=n_tokens)
                loss = out.loss
                fmask = mask.float()
                ent = (entropy * fmask).sum() / fmask.sum().clamp(min=1)
                if self.entropy_coef:
                    loss = loss - self.entropy_coef * ent * len(mb.rows) / n_samples
                if self.kl_coef and self.reference is not None:
                    with torch.no_grad():
                        ref_logp, _, _ = sequence_logprobs(self.reference, batch, self.temperature)
                    kl = (kl_k3(logp, ref_logp) * fmask).sum() / fmask.sum().clamp(min=1)
                    loss = loss + self.kl_coef * kl * len(mb.rows) / n_samples
                    stats["kl"] += float(kl) * int(fmask.sum())
                # FSDP averages gradients over ranks; scale so the sum is the global mean.
                (loss * mb.weight * world).backward()
                if mb.weight:
                    k = int(fmask.sum())
                    token_count += k
                    stats["clip_fraction"] += out.clip_fraction * k
                    stats["entropy"] += float(ent.detach()) * k
                    stats["loss"] += float(out.loss)
            grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
            stats["grad_norm"] = float(grad_norm.full_tensor() if hasattr(grad_norm, "full_tensor") else grad_norm)
            self.optimizer.step()
        self.scheduler.step()
        for key in ("clip_fraction", "entropy", "kl"):
            stats[key] /= max(1, token_count)
        stats["loss"] /= self.updates_per_batch
        stats["lr"] = self.scheduler.get_last_lr()[0]
        return stats
