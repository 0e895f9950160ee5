"""The actor: log-probabilities of sampled tokens and the clipped policy-gradient update.

Micro-batches are modality-homogeneous (GLM-4.1V cannot mix images and video in one forward)
and made of whole prompt groups; each micro-batch's loss is scaled by the whole batch's sample
or token count, so accumulation equals one full-batch gradient.

What a micro-batch computes, and what it does not:

* the n rollouts of a group share their prompt: the distinct prompts go through the model once
  (vision tower included) and leave a KV cache, and every completion runs on top of its
  prompt's cache rows, so prompt tokens and images are not recomputed n times; the gradients
  of all completions flow back into the shared prompt forward (same gradient as n full rows);
* logits only at positions whose next token is trained (``logits_to_keep``), not over the
  prompt, the forced ``</think><answer>`` or the padding;
* multimodal RoPE positions are computed once per prompt, not per row inside the forward;
* on-policy with one update per batch, the "old" log-probabilities are the current ones,
  detached: no separate no-grad forward (``updates_per_batch > 1`` does one).

Under FSDP every rank runs the same number of micro-batches (zero-weight fillers where one has
fewer), because each forward/backward is a collective, and every micro-batch runs the vision
tower exactly once: one without any image gets a loss-free dummy image prompt (``filler``), as
the supervised stages do, so the vision blocks' all-gathers and reduce-scatters line up on all
ranks. Statistics (loss, entropy, clip fraction, KL) are those of the whole batch, reduced over
ranks. The vision tower can train at ``lr × vision_lr_scale`` (``optim.vision_lr_scale``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F

from thinkvl.model.compat import cache_kwargs, keep_logits, returned_cache
from thinkvl.model.inputs import IGNORE, Encoded, group_by_modality
from thinkvl.rl.loss import kl_k3, policy_loss
from thinkvl.rl.mismatch import row_stats, sampler_matrix, tis_weights
from thinkvl.train.loop import lr_lambda

_IMAGE = ("pixel_values", "image_grid_thw")
_VIDEO = ("pixel_values_videos", "video_grid_thw")
_VISION = (*_IMAGE, *_VIDEO)


@dataclass
class MicroBatch:
    rows: list[int]  # indices into the step's samples
    weight: float = 1.0  # 0 for a filler that only keeps ranks in lockstep


def prompt_key(sample: Encoded) -> tuple:
    """Samples with equal keys continue the same prompt (the rollout engine shares ``vision``)."""
    return (id(sample.vision), tuple(sample.input_ids[:sample.prompt_len]))


def plan_micro_batches(samples: list[Encoded], size: int) -> list[MicroBatch]:
    """Modality-homogeneous micro-batches of at most ``size`` sequences, made of whole prompt
    groups (a group larger than ``size`` is split), groups in order of their longest sequence."""
    plan = []
    for idx in group_by_modality(samples):
        groups: dict[tuple, list[int]] = {}
        for i in idx:
            groups.setdefault(prompt_key(samples[i]), []).append(i)
        chunks = [g[j:j + size] for g in groups.values() for j in range(0, len(g), size)]
        chunks.sort(key=lambda c: max(len(samples[i].input_ids) for i in c))
        rows: list[int] = []
        for chunk in chunks:
            if rows and len(rows) + len(chunk) > size:
                plan.append(MicroBatch(rows))
                rows = []
            rows = rows + chunk
        if rows:
            plan.append(MicroBatch(rows))
    return plan


def has_vision(sample: Encoded) -> bool:
    return any(k in sample.vision for k in (_IMAGE[0], _VIDEO[0]))


class Positions:
    """Position ids of a prompt (multimodal RoPE when the model has one), computed once per
    prompt, and the position its completion starts at."""

    def __init__(self, model):
        core = getattr(model, "model", None)
        self.rope = getattr(core, "get_rope_index", None)
        self.cache: dict[tuple, tuple[torch.Tensor, int]] = {}

    def __call__(self, sample: Encoded) -> tuple[torch.Tensor, int]:
        key = prompt_key(sample)
        if key not in self.cache:
            p = sample.prompt_len
            if self.rope is None:
                self.cache[key] = (torch.arange(p), p)
            else:
                ids = torch.tensor([sample.input_ids[:p]], dtype=torch.long)
                mm = torch.tensor([sample.mm_token_type_ids[:p]], dtype=torch.long)
                grids = {k: sample.vision[k] for k in (_IMAGE[1], _VIDEO[1]) if k in sample.vision}
                pos, _ = self.rope(ids, mm_token_type_ids=mm, **grids)
                self.cache[key] = (pos[:, 0], int(pos.max()) + 1 if p else 0)
        return self.cache[key]


@dataclass
class PrefixBatch:
    """A micro-batch as distinct prompts (left-padded, vision inputs once) and the completions
    that continue them (right-padded); ``group[r]`` is the prompt of completion row ``r``."""

    prompt: dict
    completion: dict
    group: torch.Tensor
    labels: torch.Tensor  # (B, C) completion labels, IGNORE where nothing is trained


def collate_prefix(samples: list[Encoded], pad_id: int, positions: Positions,
                   extra_prompts: list[Encoded] = ()) -> PrefixBatch:
    """``extra_prompts`` join the prompt forward without completions (the FSDP vision filler)."""
    keys: dict[tuple, int] = {}
    prompts: list[Encoded] = []
    group = []
    for s in samples:
        if any(l != IGNORE for l in s.labels[:s.prompt_len]):
            raise ValueError("RL samples train on completion tokens only (labels inside the prompt)")
        k = prompt_key(s)
        if k not in keys:
            keys[k] = len(prompts)
            prompts.append(s)
        group.append(keys[k])
    prompts = prompts + list(extra_prompts)
    mrope = positions.rope is not None
    u, width = len(prompts), max(p.prompt_len for p in prompts)
    ids = torch.full((u, width), pad_id, dtype=torch.long)
    mask = torch.zeros((u, width), dtype=torch.long)
    mm = torch.zeros((u, width), dtype=torch.long)
    pos = torch.zeros((3, u, width) if mrope else (u, width), dtype=torch.long)
    start = torch.zeros(u, dtype=torch.long)
    vision: dict[str, list[torch.Tensor]] = {k: [] for k in _VISION}
    for i, s in enumerate(prompts):
        p = s.prompt_len
        ids[i, width - p:] = torch.as_tensor(s.input_ids[:p])
        mm[i, width - p:] = torch.as_tensor(s.mm_token_type_ids[:p])
        mask[i, width - p:] = 1
        prompt_pos, start[i] = positions(s)
        if mrope:
            pos[:, i, width - p:] = prompt_pos
        else:
            pos[i, width - p:] = prompt_pos
        for key in _VISION:
            if key in s.vision:
                vision[key].append(s.vision[key])
    prompt = {"input_ids": ids, "attention_mask": mask, "mm_token_type_ids": mm, "position_ids": pos,
              **{k: torch.cat(v, 0) for k, v in vision.items() if v}}

    b, c = len(samples), max(len(s.input_ids) - s.prompt_len for s in samples)
    cids = torch.full((b, c), pad_id, dtype=torch.long)
    labels = torch.full((b, c), IGNORE, dtype=torch.long)
    cmask = torch.zeros((b, c), dtype=torch.long)
    for r, s in enumerate(samples):
        n = len(s.input_ids) - s.prompt_len
        cids[r, :n] = torch.as_tensor(s.input_ids[s.prompt_len:])
        labels[r, :n] = torch.as_tensor(s.labels[s.prompt_len:])
        cmask[r, :n] = 1
    g = torch.tensor(group, dtype=torch.long)
    cpos = start[g][:, None] + torch.arange(c)
    completion = {"input_ids": cids, "attention_mask": torch.cat([mask[g], cmask], 1),
                  "position_ids": cpos.expand(3, -1, -1) if mrope else cpos}
    return PrefixBatch(prompt=prompt, completion=completion, group=g, labels=labels)


def completion_logprobs(model, batch: PrefixBatch, temperature: float = 1.0, with_entropy: bool = False,
                        entropy_grad: bool = False):
    """Log-probabilities of each trained completion token under ``model``.

    Two forwards: the distinct prompts (vision tower included) with a KV cache, then all
    completions on top of their prompt's cache rows — the gradient of every completion flows
    into its shared prompt. The first completion token is predicted by the prompt's last
    position. Returns ``(logp, mask, entropy)``, each (B, C) over completion tokens; logits
    only where a label exists; ``entropy`` (None unless asked) has a gradient only with
    ``entropy_grad``.
    """
    labels = batch.labels
    mask = labels != IGNORE
    first = model(**batch.prompt, use_cache=True, logits_to_keep=1)
    cache = returned_cache(first)
    cache.batch_select_indices(batch.group.to(labels.device))
    keep = F.pad(mask[:, 1:], (0, 1), value=False)  # completion position j predicts token j + 1
    rest = model(**batch.completion, **cache_kwargs(model, cache), use_cache=True,
                 logits_to_keep=keep_logits(keep)).logits
    if rest.dim() == 3:  # a model without boolean logits_to_keep: select here
        rest = rest[keep]
    head = first.logits[:, -1][batch.group[mask[:, 0]]]  # rows whose first token is trained
    lp_parts, ent_parts = [], []
    for logits, targets in ((head, labels[:, 0][mask[:, 0]]), (rest, labels[:, 1:][mask[:, 1:]])):
        logits = logits.float()
        if temperature != 1.0:
            logits = logits / temperature
        log_probs = torch.log_softmax(logits, dim=-1)
        lp_parts.append(log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1))
        if with_entropy:
            with torch.set_grad_enabled(entropy_grad and torch.is_grad_enabled()):
                lp = log_probs if entropy_grad else log_probs.detach()
                ent_parts.append(-(lp.exp() * lp).sum(-1))  # token_entropy, from the same log-softmax

    def place(parts):  # per-token values -> (B, C), zero where nothing is trained
        zeros = parts[0].new_zeros(mask.shape)
        return torch.cat([zeros[:, :1].masked_scatter(mask[:, :1], parts[0]),
                          zeros[:, 1:].masked_scatter(mask[:, 1:], parts[1])], dim=1)

    logp = place(lp_parts)
    entropy = place(ent_parts) if with_entropy else None
    return logp, mask, entropy


def param_groups(model, lr: float, weight_decay: float, vision_lr_scale: float = 1.0) -> list[dict]:
    """One group, or — when the vision tower trains at a scaled lr — language model first, then
    the vision tower at ``lr × vision_lr_scale`` (as the supervised stages)."""
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if vision_lr_scale == 1.0:
        return [{"params": [p for _, p in params], "lr": lr, "weight_decay": weight_decay}]
    from thinkvl.train.loop import is_vision_param

    text = [p for n, p in params if not is_vision_param(n)]
    vision = [p for n, p in params if is_vision_param(n)]
    groups = [{"params": text, "lr": lr, "weight_decay": weight_decay}]
    if vision:
        groups.append({"params": vision, "lr": lr * vision_lr_scale, "weight_decay": weight_decay})
    return groups


class Actor:
    def __init__(self, model, pad_id: int, *, lr: float, weight_decay: float = 0.0,
                 betas=(0.9, 0.99), grad_clip: float = 1.0, warmup_steps: int = 0,
                 schedule: str = "constant", total_steps: int = 0, min_lr_ratio: float = 0.1,
                 clip_low: float = 0.2, clip_high: float = 0.28, normalization: str = "sample",
                 kl_coef: float = 0.0, entropy_coef: float = 0.0, micro_batch: int = 32,
                 updates_per_batch: int = 1, temperature: float = 1.0, reference=None,
                 vision_lr_scale: float = 1.0, filler: Encoded | None = None):
        self.model = model
        self.pad_id = pad_id
        self.optimizer = torch.optim.AdamW(param_groups(model, lr, weight_decay, vision_lr_scale), lr=lr,
                                           weight_decay=weight_decay, betas=betas)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_lambda(step, total_steps, warmup_steps, schedule, min_lr_ratio))
        self.grad_clip = grad_clip
        self.clip = (clip_low, clip_high)
        self.normalization = normalization
        self.kl_coef = kl_coef
        self.entropy_coef = entropy_coef
        self.micro_batch = micro_batch
        self.updates_per_batch = updates_per_batch
        self.temperature = temperature
        self.reference = reference  # frozen copy, only when kl_coef > 0
        self.filler = filler  # a loss-free image sample, under FSDP only (see the module notes)

    def _batch(self, samples: list[Encoded], rows: list[int], positions: Positions) -> PrefixBatch:
        """Model inputs of ``rows``; under FSDP a micro-batch without images also carries the
        dummy image prompt, so that the vision tower runs on every rank."""
        chosen = [samples[i] for i in rows]
        extra = [self.filler] if self.filler is not None and not any(has_vision(s) for s in chosen) else []
        batch = collate_prefix(chosen, self.pad_id, positions, extra)
        device = next(self.model.parameters()).device
        return PrefixBatch(prompt={k: v.to(device) for k, v in batch.prompt.items()},
                           completion={k: v.to(device) for k, v in batch.completion.items()},
                           group=batch.group.to(device), labels=batch.labels.to(device))

    def _lockstep(self, plan: list[MicroBatch]) -> list[MicroBatch]:
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return plan
        count = torch.tensor([len(plan)])
        dist.all_reduce(count, op=dist.ReduceOp.MAX)
        filler = plan[0].rows if plan else []
        return plan + [MicroBatch(filler, weight=0.0) for _ in range(int(count) - len(plan))]

    @torch.no_grad()
    def _old_logprobs(self, samples, plan, positions) -> dict[int, torch.Tensor]:
        old = {}
        for mb in plan:
            batch = self._batch(samples, mb.rows, positions)
            logp, _, _ = completion_logprobs(self.model, batch, self.temperature)
            for j, row in enumerate(mb.rows):
                old[row] = logp[j].detach()
        return old

    def update(self, samples: list[Encoded], advantages: list[float], total_samples: int | None = None,
               total_tokens: int | None = None, sampler_logprobs: list | None = None,
               importance_cap: float | None = None) -> dict:
        """One or more optimizer updates on a rollout batch; returns training statistics.

        ``total_samples``/``total_tokens``: the counts over all ranks (defaults: this rank's).
        ``sampler_logprobs``: the rollout engine's log-prob of each completion token (per
        sample, None where unknown): the statistics then carry ``mismatch_rows`` (per sample,
        ``rl.mismatch.row_stats``), and ``importance_cap`` turns on truncated importance
        sampling (``rl.mismatch``).
        """
        if not samples:
            raise ValueError("no samples to train on")
        world = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        n_samples = total_samples or len(samples)
        n_tokens = total_tokens or sum(sum(l != IGNORE for l in s.labels) for s in samples)
        plan = self._lockstep(plan_micro_batches(samples, self.micro_batch))
        adv_all = torch.tensor(advantages, dtype=torch.float32)
        positions = Positions(self.model)
        old = self._old_logprobs(samples, plan, positions) if self.updates_per_batch > 1 else None
        stats = {"clip_fraction": 0.0, "entropy": 0.0, "kl": 0.0, "grad_norm": 0.0, "loss": 0.0}
        token_count = 0
        mismatch: list = [None] * len(samples)
        self.model.train()
        for it in range(self.updates_per_batch):
            self.optimizer.zero_grad(set_to_none=True)
            for mb in plan:
                batch = self._batch(samples, mb.rows, positions)
                logp, mask, entropy = completion_logprobs(self.model, batch, self.temperature, with_entropy=True,
                                                          entropy_grad=bool(self.entropy_coef))
                if old is not None:
                    old_logp = torch.stack([old[r] for r in mb.rows])
                else:  # on-policy: π_old = π, detached
                    old_logp = logp.detach()
                adv = adv_all[mb.rows].to(logp.device)
                weights = None
                if sampler_logprobs is not None:
                    slp = sampler_matrix([sampler_logprobs[r] for r in mb.rows], tuple(logp.shape), logp.device)
                    if it == 0 and mb.weight:  # π before any step of this batch: the trainer's π_old
                        for row, st in zip(mb.rows, row_stats(logp, slp, mask).tolist()):
                            mismatch[row] = st
                    if importance_cap:
                        weights = tis_weights(old_logp, slp, importance_cap)
                out = policy_loss(logp, old_logp, adv, mask, *self.clip, normalization=self.normalization,
                                  total_samples=n_samples, total_tokens=n_tokens, token_weights=weights)
                loss = out.loss
                fmask = mask.float()
                ent = (entropy * fmask).sum() / fmask.sum().clamp(min=1)
                if self.entropy_coef:
                    loss = loss - self.entropy_coef * ent * len(mb.rows) / n_samples
                if self.kl_coef and self.reference is not None:
                    with torch.no_grad():
                        ref_logp, _, _ = completion_logprobs(self.reference, batch, self.temperature)
                    kl = (kl_k3(logp, ref_logp) * fmask).sum() / fmask.sum().clamp(min=1)
                    loss = loss + self.kl_coef * kl * len(mb.rows) / n_samples
                    stats["kl"] += float(kl.detach()) * int(fmask.sum())
                # FSDP averages gradients over ranks; scale so the sum is the global mean.
                (loss * mb.weight * world).backward()
                if mb.weight:
                    k = int(fmask.sum())
                    token_count += k
                    stats["clip_fraction"] += out.clip_fraction * k
                    stats["entropy"] += float(ent.detach()) * k
                    stats["loss"] += float(out.loss.detach())
            grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
            stats["grad_norm"] = float(grad_norm.full_tensor() if hasattr(grad_norm, "full_tensor") else grad_norm)
            self.optimizer.step()
        self.scheduler.step()
        keys = ("clip_fraction", "entropy", "kl", "loss")
        if world > 1:  # statistics of the whole batch, not of this rank's share
            totals = torch.tensor([stats[k] for k in keys] + [token_count], dtype=torch.float64)
            dist.all_reduce(totals)
            stats.update(zip(keys, totals[:-1].tolist()))
            token_count = int(totals[-1])
        for key in keys[:3]:
            stats[key] /= max(1, token_count)
        stats["loss"] /= self.updates_per_batch
        stats["lr"] = self.scheduler.get_last_lr()[0]
        if sampler_logprobs is not None:
            stats["mismatch_rows"] = mismatch
        return stats
