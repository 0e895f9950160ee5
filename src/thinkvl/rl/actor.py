"""The actor: log-probabilities of sampled tokens and the clipped policy-gradient update.

A rollout batch arrives as mini-batches (``rl.batch.MiniBatch``), one optimizer step each
(``rl.mini_batches``), repeated ``rl.updates_per_batch`` times (PPO epochs). The old
log-probabilities are computed once, before the first step, from the policy that sampled; so
from the second step on the ratio moves off 1 and clip-higher acts. Within a step, micro-batches
are made of samples one forward can take (the family adapter's ``batch_key``: GLM-4.1V cannot
mix images and video) and of whole prompt groups (``MiniBatch.groups`` says which samples share a prompt); each micro-batch's loss
is scaled by its step's sample or token count over all ranks, so accumulation equals that step's
full-batch gradient.

What a micro-batch computes, and what it does not:

* the n rollouts of a group share their prompt: the distinct prompts go through the model once
  (vision tower included) and leave a KV cache, and every completion runs on top of its
  prompt's cache rows, so prompt tokens and images are not recomputed n times; the gradients
  of all completions flow back into the shared prompt forward (same gradient as n full rows);
* logits only at positions whose next token is trained (``logits_to_keep``), not over the
  prompt, the forced ``</think><answer>`` or the padding;
* positions (multimodal RoPE with every ``get_rope_index`` input, or 1-D) are computed once
  per prompt, not per row inside the forward; the prompt's processor fields batch by the
  family's rules (``model.families.batching``), the completions carry ids, mask and positions;
* on-policy with one optimizer step per rollout batch, the "old" log-probabilities are the
  current ones, detached: no separate no-grad forward (more steps do one, before the first).

Under FSDP every rank runs the same number of micro-batches (zero-weight fillers where one has
fewer), because each forward/backward is a collective, and every micro-batch runs the vision
tower exactly once: one without any image gets a loss-free dummy image prompt (``filler``), as
the supervised stages do, so the vision blocks' all-gathers and reduce-scatters line up on all
ranks; a rank with no samples in a mini-batch runs zero-weight micro-batches. Statistics (loss,
entropy, clip fractions by side, ratio deviation, KL) are those of the whole rollout batch, all
its optimizer steps, reduced over ranks. The lr schedule steps once per rollout batch (RL step),
so ``optim.warmup_steps`` and the decay horizon count RL steps however many optimizer steps each
makes. The vision tower can train at ``lr × vision_lr_scale`` (``optim.vision_lr_scale``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F

from thinkvl.model.compat import cache_kwargs, keep_logits, returned_cache
from thinkvl.model.families.batching import collate_fields
from thinkvl.model.inputs import IGNORE, Encoded, batching_rules, group_by_modality
from thinkvl.model.positions import sample_positions, uses_mrope
from thinkvl.rl.batch import MiniBatch
from thinkvl.rl.config import AlgoConfig
from thinkvl.rl.loss import get_policy_loss, kl_k3, policy_loss
from thinkvl.rl.mismatch import MismatchSums, sampler_matrix, tis_weights
from thinkvl.runtime.distributed import gradient_sync
from thinkvl.runtime.optim import RL_DEFAULTS, OptimConfig, build_optimizer
from thinkvl.runtime.precision import autocast


@dataclass
class MicroBatch:
    rows: list[int]  # indices into the mini-batch's samples
    weight: float = 1.0  # 0 for a filler that only keeps ranks in lockstep


def plan_micro_batches(samples: list[Encoded], size: int, groups: Sequence[int], adapter=None) -> list[MicroBatch]:
    """Micro-batches of at most ``size`` sequences one forward can take (``adapter.batch_key``;
    without an adapter: by modality), made of whole prompt groups (``groups[i]``: sample i's
    group; a group larger than ``size`` is split), groups in order of their longest sequence."""
    plan = []
    for idx in group_by_modality(samples, adapter):
        members: dict[int, list[int]] = {}
        for i in idx:
            members.setdefault(groups[i], []).append(i)
        chunks = [g[j:j + size] for g in members.values() for j in range(0, len(g), size)]
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
    """Any processor output beyond the per-token fields: the sample runs the vision tower."""
    return bool(sample.vision)


def check_same_prompt(sample: Encoded, first: Encoded, group: object) -> None:
    """Samples numbered as one group must continue one prompt (its forward and positions are
    shared): a wrong grouping fails here instead of training on another prompt's context."""
    p = sample.prompt_len
    if p != first.prompt_len or sample.input_ids[:p] != first.input_ids[:p]:
        raise ValueError(f"samples of group {group} continue different prompts: a group is one prompt's "
                         "completions (check the groups passed with the samples)")


class Positions:
    """Position ids of a prompt (multimodal RoPE when the model has one), computed once per
    prompt (``key``: its group), and the position its completion starts at."""

    def __init__(self, model, adapter=None):
        self.model, self.adapter = model, adapter
        self.mrope = uses_mrope(model, adapter)
        self.cache: dict[object, tuple[torch.Tensor, int]] = {}
        self.first: dict[object, Encoded] = {}

    def __call__(self, sample: Encoded, key: object) -> tuple[torch.Tensor, int]:
        if key in self.first:
            check_same_prompt(sample, self.first[key], key)
        else:
            self.first[key] = sample
            p = sample.prompt_len
            if not self.mrope:
                self.cache[key] = (torch.arange(p), p)
            else:
                pos = sample_positions(self.model, sample, p, self.adapter)
                self.cache[key] = (pos, int(pos.max()) + 1 if p else 0)
        return self.cache[key]


@dataclass
class PrefixBatch:
    """A micro-batch as distinct prompts (left-padded, vision inputs once) and the completions
    that continue them (right-padded); ``group[r]`` is the prompt of completion row ``r``."""

    prompt: dict
    completion: dict
    group: torch.Tensor
    labels: torch.Tensor  # (B, C) completion labels, IGNORE where nothing is trained


def collate_prefix(samples: list[Encoded], groups: Sequence[int], pad_id: int, positions: Positions,
                   extra_prompts: list[Encoded] = ()) -> PrefixBatch:
    """``groups[i]``: sample i's group (equal numbers share one prompt forward); ``extra_prompts``
    join the prompt forward without completions (the FSDP vision filler). The prompts' processor
    fields batch by the family's rules (``positions.adapter``), left-padded."""
    index: dict[int, int] = {}
    prompts: list[Encoded] = []
    keys: list[object] = []
    group = []
    for s, g in zip(samples, groups, strict=True):
        if any(l != IGNORE for l in s.labels[:s.prompt_len]):
            raise ValueError("RL samples train on completion tokens only (labels inside the prompt)")
        if g not in index:
            index[g] = len(prompts)
            prompts.append(s)
            keys.append(g)
        else:
            check_same_prompt(s, prompts[index[g]], g)
        group.append(index[g])
    prompts = prompts + list(extra_prompts)
    keys = keys + [("extra", i) for i in range(len(extra_prompts))]
    mrope = positions.mrope
    u, width = len(prompts), max(p.prompt_len for p in prompts)
    prompt = collate_fields([s.part(s.prompt_len) for s in prompts], batching_rules(prompts, positions.adapter),
                            pad_id, padding_side="left")
    mask = prompt["attention_mask"]
    pos = torch.zeros((3, u, width) if mrope else (u, width), dtype=torch.long)
    start = torch.zeros(u, dtype=torch.long)
    for i, s in enumerate(prompts):
        p = s.prompt_len
        prompt_pos, start[i] = positions(s, keys[i])
        if mrope:
            pos[:, i, width - p:] = prompt_pos
        else:
            pos[i, width - p:] = prompt_pos
    prompt["position_ids"] = pos

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
                ent_parts.append(-(lp.exp() * lp).sum(-1))  # entropy, from the same log-softmax

    def place(parts):  # per-token values -> (B, C), zero where nothing is trained
        zeros = parts[0].new_zeros(mask.shape)
        return torch.cat([zeros[:, :1].masked_scatter(mask[:, :1], parts[0]),
                          zeros[:, 1:].masked_scatter(mask[:, 1:], parts[1])], dim=1)

    logp = place(lp_parts)
    entropy = place(ent_parts) if with_entropy else None
    return logp, mask, entropy


# Per-rank sums an update reduces over ranks, in this order (see ``Actor._stats``).
SUMS = ("loss", "tokens", "clipped_low", "clipped_high", "ratio_deviation", "entropy", "kl")


def _world() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class Actor:
    """The policy and its optimizer: ``update`` is one rollout batch's clipped policy-gradient
    steps, as ``algo`` and ``optim`` say (the optimizer from ``runtime.optim``, as in SFT)."""

    def __init__(self, model, pad_id: int, algo: AlgoConfig | None = None, optim: OptimConfig | None = None,
                 *, total_steps: int = 0, temperature: float = 1.0, reference=None,
                 filler: Encoded | None = None, adapter=None):
        self.model = model
        self.pad_id = pad_id
        self.adapter = adapter  # the family's batching, positions and parts (None: GLM-4.1V's layout)
        self.algo = algo or AlgoConfig()
        get_policy_loss(self.algo.loss)  # an unknown rl.loss fails here, not after the first rollouts
        self.optim = optim or OptimConfig(**RL_DEFAULTS)
        self.optimizer, self.scheduler = build_optimizer(model, self.optim, total_steps, adapter)
        self.temperature = temperature
        self.reference = reference  # frozen copy, only when kl_coef > 0
        self.filler = filler  # a loss-free image sample, under FSDP only (see the module notes)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _batch(self, mb: MiniBatch, rows: list[int], positions: Positions) -> PrefixBatch:
        """Model inputs of ``rows``; under FSDP a micro-batch without images also carries the
        dummy image prompt, so that the vision tower runs on every rank."""
        chosen = [mb.samples[i] for i in rows]
        extra = [self.filler] if self.filler is not None and not any(has_vision(s) for s in chosen) else []
        batch = collate_prefix(chosen, [mb.groups[i] for i in rows], self.pad_id, positions, extra)
        return PrefixBatch(prompt={k: v.to(self.device) for k, v in batch.prompt.items()},
                           completion={k: v.to(self.device) for k, v in batch.completion.items()},
                           group=batch.group.to(self.device), labels=batch.labels.to(self.device))

    def _plans(self, mini_batches: Sequence[MiniBatch]) -> list[list[MicroBatch]]:
        """Each mini-batch's micro-batches; under FSDP every rank runs as many per mini-batch
        (zero-weight repeats of its first where a rank has fewer: each forward is a collective)."""
        plans = []
        for mb in mini_batches:
            plan = plan_micro_batches(mb.samples, self.algo.micro_batch, mb.groups, self.adapter)
            plans.append([MicroBatch(m.rows, 0.0) for m in plan] if mb.filler else plan)
        if _world() == 1:
            return plans
        counts = torch.tensor([len(p) for p in plans], device=self.device)
        dist.all_reduce(counts, op=dist.ReduceOp.MAX)
        return [plan + [MicroBatch(plan[0].rows, 0.0)] * (int(c) - len(plan)) for plan, c in zip(plans, counts)]

    @torch.no_grad()
    def _old_logprobs(self, mini_batches, plans, positions) -> list[dict[int, torch.Tensor]]:
        """Log-probabilities of every mini-batch's samples under the current (sampling) policy."""
        old = []
        for mb, plan in zip(mini_batches, plans):
            rows = {}
            for micro in plan:
                batch = self._batch(mb, micro.rows, positions)
                with autocast(self.optim.precision, self.device, _world() > 1):
                    logp, _, _ = completion_logprobs(self.model, batch, self.temperature)
                rows.update((row, logp[j]) for j, row in enumerate(micro.rows))
            old.append(rows)
        return old

    def _backward(self, mb: MiniBatch, micro: MicroBatch, positions: Positions,
                  old: dict[int, torch.Tensor] | None, mismatch: MismatchSums | None) -> torch.Tensor:
        """One micro-batch's forward and backward; returns its ``SUMS`` (zeros for a filler).
        ``mismatch`` (first pass only) collects the sampler-trainer gap of its tokens."""
        a = self.algo
        batch = self._batch(mb, micro.rows, positions)
        with autocast(self.optim.precision, self.device, _world() > 1):
            logp, mask, entropy = completion_logprobs(self.model, batch, self.temperature, with_entropy=True,
                                                      entropy_grad=bool(a.entropy_coef))
        # on-policy with a single step: π_old = π, detached (no separate forward)
        old_logp = torch.stack([old[r] for r in micro.rows]) if old is not None else logp.detach()
        adv = torch.tensor([mb.advantages[r] for r in micro.rows], dtype=torch.float32, device=logp.device)
        weights = None
        if mb.sampler_logprobs is not None:  # the engine reported what it sampled with
            slp = sampler_matrix([mb.sampler_logprobs[r] for r in micro.rows], tuple(logp.shape), logp.device)
            if mismatch is not None and micro.weight:
                mismatch.add(old_logp, slp, mask, [mb.domains[r] for r in micro.rows])
            if a.importance_correction == "tis":
                weights = tis_weights(old_logp, slp, a.importance_cap)
        out = policy_loss(logp, old_logp, adv, mask, a.clip_low, a.clip_high, normalization=a.normalization,
                          total_samples=mb.total_samples, total_tokens=mb.total_tokens, loss=a.loss,
                          token_weights=weights)
        loss = out.loss
        fmask = mask.float()
        ent = (entropy * fmask).sum() / fmask.sum().clamp(min=1)
        share = len(micro.rows) / mb.total_samples  # this micro-batch's part of a per-sample mean
        if a.entropy_coef:
            loss = loss - a.entropy_coef * ent * share
        kl = ent.new_zeros(())
        if a.kl_coef and self.reference is not None:
            with torch.no_grad():
                ref_logp, _, _ = completion_logprobs(self.reference, batch, self.temperature)
            kl = (kl_k3(logp, ref_logp) * fmask).sum() / fmask.sum().clamp(min=1)
            loss = loss + a.kl_coef * kl * share
        # FSDP averages gradients over ranks; scale so the sum is the global mean.
        (loss * micro.weight * _world()).backward()
        values = (out.loss.detach(), out.tokens, out.clipped_low, out.clipped_high, out.ratio_deviation,
                  ent.detach() * out.tokens, kl.detach() * out.tokens)
        return torch.stack([v.to(torch.float64) for v in values]) * (1.0 if micro.weight else 0.0)

    def update(self, mini_batches: Sequence[MiniBatch]) -> dict:
        """The policy update of one rollout batch: ``updates_per_batch`` passes over
        ``mini_batches`` (``rl.batch.split`` or ``StepBatch.mini_batches``), one optimizer step
        per mini-batch, then one step of the lr schedule. Returns the batch's statistics."""
        if not mini_batches:
            raise ValueError("no samples to train on")
        a = self.algo
        positions = Positions(self.model, self.adapter)
        plans = self._plans(mini_batches)
        steps = a.updates_per_batch * len(mini_batches)
        old = self._old_logprobs(mini_batches, plans, positions) if steps > 1 else [None] * len(plans)
        lr = self.scheduler.get_last_lr()[0]  # the lr these steps take
        sums = torch.zeros(len(SUMS), dtype=torch.float64, device=self.device)
        grad_norms = []
        mismatch = MismatchSums()  # π_old (the trainer's, before any step) against the sampler's
        self.model.train()
        for epoch in range(a.updates_per_batch):
            for mb, plan, old_mb in zip(mini_batches, plans, old):
                self.optimizer.zero_grad(set_to_none=True)
                for i, micro in enumerate(plan):
                    gradient_sync(self.model, i == len(plan) - 1)  # reduce once, after the last
                    sums += self._backward(mb, micro, positions, old_mb, mismatch if epoch == 0 else None)
                self._zero_missing_grads()
                norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.optim.grad_clip)
                grad_norms.append(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)
                self.optimizer.step()
        self.scheduler.step()
        stats = self._stats(sums, grad_norms, steps, lr)
        if any(mb.sampler_logprobs is not None for mb in mini_batches):
            stats["mismatch_sums"] = mismatch  # reduced over ranks by the trainer (rl.mismatch.log)
        return stats

    def _zero_missing_grads(self) -> None:
        """A trainable parameter the step's loss did not reach (the vision tower in a mini-batch
        without images) gets a zero gradient rather than none: AdamW then steps it on its momentum
        as under FSDP (which always reduces a gradient), instead of skipping it only on one
        process — single-process and sharded runs take the same steps."""
        for group in self.optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)

    def _stats(self, sums: torch.Tensor, grad_norms: list, steps: int, lr: float) -> dict:
        """Whole-batch statistics: token-weighted over every step and rank; the loss and the
        gradient norm are means over optimizer steps (the loss without entropy or KL terms)."""
        if _world() > 1:
            dist.all_reduce(sums)
        s = dict(zip(SUMS, sums.tolist()))
        tokens = max(1.0, s["tokens"])
        return {"loss": s["loss"] / steps, "grad_norm": float(torch.stack(grad_norms).float().mean()),
                "clip_fraction": (s["clipped_low"] + s["clipped_high"]) / tokens,
                "clip_fraction_low": s["clipped_low"] / tokens, "clip_fraction_high": s["clipped_high"] / tokens,
                "ratio_deviation": s["ratio_deviation"] / tokens, "entropy": s["entropy"] / tokens,
                "kl": s["kl"] / tokens, "lr": lr, "optimizer_steps": steps}
