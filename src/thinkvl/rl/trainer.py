"""GRPO with Curriculum Sampling (RLCS), as the GLM-4.1V-Thinking report trains.

One step, top to bottom (``RLTrainer.step``):
 1. draw prompts by RLCS tier weights within domain quotas, oversampled by the EMA expansion;
 2. roll out a group of n completions per prompt (temperature 1, top-p 1, force-answering);
 3. score every rollout with the multi-domain reward system in one batch;
 4. fold each prompt's accuracy into its online pass-rate EMA (its tier moves);
 5. dynamic sampling: keep groups with signal, most balanced first; update the expansion EMA;
 6. group-normalised advantages (missing judgements excluded, never read as 0);
 7. clipped policy update (clip-higher, no KL, no entropy bonus, per-sample normalisation);
 8. sync rollout weights, log per-domain metrics (sampler–trainer mismatch included), save
    rollouts, checkpoint.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import torch
import torch.distributed as dist

from thinkvl.config import dump_config
from thinkvl.model.factory import load_model, load_processor
from thinkvl.model.generate import Sampling
from thinkvl.rewards import RewardSystem
from thinkvl.rl import advantage as advantages
from thinkvl.rl import mismatch
from thinkvl.rl.actor import Actor
from thinkvl.rl.config import RLConfig
from thinkvl.rl.curriculum import Curriculum, CurriculumSettings
from thinkvl.rl.data import Prompt, load_prompts
from thinkvl.rl.dynamic import ExpansionEMA, group_has_signal, select_groups
from thinkvl.rl.metrics import Rollout, domain_metrics, think_close_id, think_length
from thinkvl.rl.preflight import check_format
from thinkvl.rl.rollout import make_engine
from thinkvl.track import Tracker
from thinkvl.train import checkpoint
from thinkvl.train.distributed import DistInfo, init_distributed, shard_model
from thinkvl.train.loop import freeze_vision
from thinkvl.train.samples import dummy_vision_item


class Phases:
    """Wall seconds per phase of a step."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def _gather(obj, info: DistInfo) -> list:
    """Concatenate a per-rank list over ranks (rank order), identical on every rank."""
    if info.world_size == 1:
        return list(obj)
    parts = [None] * info.world_size
    dist.all_gather_object(parts, list(obj))
    return [x for part in parts for x in part]


def _media_refs(prompt: Prompt) -> list[str]:
    refs = []
    for message in prompt.messages:
        content = message.get("content")
        for item in content if isinstance(content, list) else []:
            ref = item.get("image") or item.get("video")
            if isinstance(ref, str) and not ref.startswith("data:"):
                refs.append(str(Path(prompt.base_dir or ".", ref)))
    return refs


class RLTrainer:
    """Holds the run's parts; ``step()`` is one RLCS iteration."""

    def __init__(self, cfg: RLConfig, resume: bool = False):
        self.cfg = cfg
        self.info = init_distributed()
        self.out = Path(cfg.run.out)
        if not resume and checkpoint.latest_checkpoint(self.out) is not None:
            raise FileExistsError(f"{self.out} already holds checkpoints; pass --resume to continue that "
                                  "run, or set run.out to a new folder")
        torch.manual_seed(cfg.run.seed + self.info.rank)
        self.processor = load_processor(cfg.model)
        model = load_model(cfg.model, device=self.info.device)
        self.rewards = RewardSystem.from_yaml(cfg.rewards) if cfg.rewards else RewardSystem()
        self.prompts = load_prompts(cfg.data.train, skip_invalid=cfg.data.skip_invalid)
        self.by_id = {p.id: p for p in self.prompts}
        c = cfg.curriculum
        self.curriculum = Curriculum(
            [p.id for p in self.prompts], [p.domain for p in self.prompts],
            [p.offline_pass for p in self.prompts],
            CurriculumSettings(enabled=c.enabled, pass_ema=c.pass_ema, tier_weights=c.tier_weights,
                               domain_mix=c.domain_mix),
            seed=cfg.run.seed,
        )
        self.expansion = ExpansionEMA(decay=cfg.dynamic.ema_decay, max_expansion=cfg.dynamic.max_expansion)
        r = cfg.rollout
        self.sampling = Sampling(temperature=r.temperature, top_p=r.top_p, top_k=r.top_k,
                                 think_budget=r.think_budget,
                                 answer_budget=r.answer_budget)
        self.engine = make_engine(r.engine, model, self.processor, self.sampling, model_path=cfg.model,
                                  batch_size=r.batch_size, distributed=self.info.world_size > 1,
                                  rollout=r, seed=cfg.run.seed)
        a, o = cfg.rl, cfg.optim
        freeze_vision(model, o.vision_lr_scale)
        shard_model(model, self.info)
        reference = None
        if a.kl_coef > 0:  # off by default; a frozen copy only when asked
            reference = load_model(cfg.model, device=self.info.device).eval().requires_grad_(False)
        # Under FSDP every forward must run the vision tower (its blocks' collectives): micro-batches
        # without images get this loss-free dummy image row, as in the supervised stages.
        filler = dummy_vision_item(self.processor).sample if self.info.distributed else None
        self.actor = Actor(model, self.processor.tokenizer.pad_token_id, lr=o.lr, weight_decay=o.weight_decay,
                           betas=o.betas, grad_clip=o.grad_clip, warmup_steps=o.warmup_steps,
                           schedule=o.schedule, total_steps=a.steps, min_lr_ratio=o.min_lr_ratio,
                           clip_low=a.clip_low, clip_high=a.clip_high, normalization=a.normalization,
                           kl_coef=a.kl_coef, entropy_coef=a.entropy_coef, micro_batch=a.micro_batch,
                           updates_per_batch=a.updates_per_batch, temperature=r.temperature,
                           reference=reference, vision_lr_scale=o.vision_lr_scale, filler=filler)
        self.estimator = advantages.get_estimator(a.advantage)
        self.think_close = think_close_id(self.processor.tokenizer)
        self.counters = {"rollouts": 0, "tokens": 0, "prompts": 0, "seconds": 0.0}
        self.step_done = 0
        if resume:
            self._resume()
        if self.info.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            dump_config(cfg, self.out / "config.yaml")
        self.tracker = Tracker(self.out, sinks=cfg.run.sinks, config=cfg.model_dump(mode="json"),
                               resume_step=self.step_done if resume else None, enabled=self.info.is_main)

    # --- one RLCS step ------------------------------------------------------------------------
    def step(self) -> dict:
        cfg, info, phases = self.cfg, self.info, Phases()
        step = self.step_done + 1
        started = time.perf_counter()

        # 1. RLCS draw, oversampled by the EMA of the expansion factor (fixed before generation).
        n_draw = (self.expansion.prompts_to_draw(cfg.rl.prompts_per_step) if cfg.dynamic.enabled
                  else cfg.rl.prompts_per_step)
        drawn = [self.by_id[i] for i in self.curriculum.sample(n_draw)]
        tier_mix = self.curriculum.tier_mix([p.id for p in drawn])
        mine = drawn[info.rank::info.world_size]

        # 2. Rollouts: a group of n completions for each of this rank's prompts.
        with phases("rollout"):
            groups = self.engine.rollout(mine, cfg.rollout.group_size)

        # 3. Rewards for every rollout, one batched call.
        with phases("reward"):
            items = [{"response": c.text, "answer": p.answer, "domain": p.domain, "question": p.question,
                      "meta": {**p.meta, "truncated": c.truncated}}
                     for p, group in zip(mine, groups) for c in group]
            results = self.rewards.score_batch(items)
        rollouts, k = [], 0
        for g, (p, group) in enumerate(zip(mine, groups)):
            for c in group:
                res = results[k]
                k += 1
                rollouts.append(Rollout(
                    prompt_id=p.id, domain=p.domain, response=c.text, reward=res.reward,
                    correct=None if res.missing else bool(res.correct),
                    extracted=None if res.extracted is None else str(res.extracted),
                    flags=sorted(res.flags), reason=res.reason, tokens=len(c.token_ids),
                    think_tokens=think_length(c.token_ids, self.think_close), forced=c.forced,
                    truncated=c.truncated, group=g, media=_media_refs(p), answer=p.answer))

        # Pre-flight (first step of a fresh run): a policy that cannot write the protocol yet
        # gives GRPO nothing but noise; stop before the first update, with a clear message.
        if step == 1 and cfg.rl.preflight_max_format_errors < 1.0:
            check_format(_gather(rollouts, info), cfg.rl.preflight_max_format_errors)

        # Every rank sees every group's outcome, so curriculum and EMA stay identical.
        n = cfg.rollout.group_size
        local_groups = [[r.correct for r in rollouts[g * n:(g + 1) * n]] for g in range(len(mine))]
        all_groups = _gather(local_groups, info)
        all_ids = _gather([p.id for p in mine], info)

        # 4. Online difficulty: each prompt's pass-rate EMA.
        for pid, correct in zip(all_ids, all_groups):
            seen = [c for c in correct if c is not None]
            if seen:
                self.curriculum.update(pid, sum(seen) / len(seen))

        # 5. Dynamic sampling: keep groups with signal, most balanced first; update the EMA.
        invalid_rate = 1.0 - sum(group_has_signal(g) for g in all_groups) / max(1, len(all_groups))
        if cfg.dynamic.enabled:
            kept_global = set(select_groups(all_groups, cfg.rl.prompts_per_step))
            self.expansion.update(invalid_rate)
        else:
            kept_global = set(range(len(all_groups)))
        offset = sum(_gather([len(mine)], info)[:info.rank])
        kept_local = [g for g in range(len(mine)) if g + offset in kept_global]

        # 6. Advantages within each kept group (missing judgements get none).
        samples, advs, sampled_lp, domains = [], [], [], []
        for g in kept_local:
            members = rollouts[g * n:(g + 1) * n]
            for r, a, c in zip(members, self.estimator([r.reward for r in members]), groups[g]):
                r.kept, r.advantage = True, a
                if a is not None and a != 0.0:
                    samples.append(c.sample)
                    advs.append(a)
                    sampled_lp.append(c.logprobs)
                    domains.append(r.domain)

        # 7. Policy update on the kept samples (counts over all ranks for exact normalisation).
        totals = _gather([(len(samples), sum(sum(l != -100 for l in s.labels) for s in samples))], info)
        total_samples, total_tokens = sum(t[0] for t in totals), sum(t[1] for t in totals)
        train_stats = {}
        with phases("update"):
            if total_samples:
                if not samples:  # this rank kept nothing: it still joins the collectives
                    samples, advs, sampled_lp, domains = [groups[0][0].sample], [0.0], [None], [""]
                train_stats = self.actor.update(samples, advs, total_samples, total_tokens,
                                                **mismatch.update_args(cfg.rl, sampled_lp))
        with phases("sync"):
            self.engine.sync(self.actor.model)

        # 8. Metrics per domain, rollouts for inspection, checkpoint.
        all_rollouts = _gather(rollouts, info)
        self.step_done = step
        self.counters["rollouts"] += len(all_rollouts)
        self.counters["tokens"] += sum(r.tokens for r in all_rollouts)
        self.counters["prompts"] += len(all_groups)
        self.counters["seconds"] += time.perf_counter() - started
        metrics = {
            "domains": domain_metrics(all_rollouts, _by_group(all_rollouts, n)),
            "reward": sum(r.reward or 0.0 for r in all_rollouts) / max(1, len(all_rollouts)),
            "accuracy": sum(bool(r.correct) for r in all_rollouts) / max(1, len(all_rollouts)),
            "prompts_drawn": len(all_groups), "groups_kept": len(kept_global),
            "rank_rollouts": _gather([len(rollouts)], info),  # each rank's share of the rollouts
            "samples_trained": total_samples, "invalid_rate": invalid_rate,
            "expansion": self.expansion.value, "tier_mix": tier_mix,
            "force_answer_rate": sum(r.forced for r in all_rollouts) / max(1, len(all_rollouts)),
            "response_tokens": sum(r.tokens for r in all_rollouts) / max(1, len(all_rollouts)),
            "seconds": {**phases.seconds, "step": time.perf_counter() - started},
            "totals": dict(self.counters),
            **train_stats,
        }
        mismatch.log(metrics, _gather(mismatch.pairs(metrics.pop("mismatch_rows", None), domains), info))
        if info.is_main:
            self.tracker.log(step, metrics)
            if cfg.run.save_rollouts:
                self._save_rollouts(step, all_rollouts)
        if cfg.run.save_every and step % cfg.run.save_every == 0:
            self.save()
        return metrics

    # --- state ----------------------------------------------------------------------------------
    def state(self) -> dict:
        return {"curriculum": self.curriculum.state_dict(), "expansion": self.expansion.state_dict(),
                "counters": dict(self.counters)}

    def save(self) -> Path:
        return checkpoint.save_checkpoint(self.out, self.step_done, self.actor.model, self.processor,
                                          self.actor.optimizer, self.actor.scheduler, extra=self.state(),
                                          keep_last=self.cfg.run.keep_last)

    def _resume(self) -> None:
        path = checkpoint.latest_checkpoint(self.out)
        if path is None:
            return
        loaded = checkpoint.load_checkpoint(path, self.actor.model, self.actor.optimizer, self.actor.scheduler)
        extra = loaded["extra"]
        self.curriculum.load_state_dict(extra["curriculum"])
        self.expansion.load_state_dict(extra["expansion"])
        self.counters.update(extra["counters"])
        self.step_done = int(loaded["step"])
        self.engine.sync(self.actor.model)

    def _save_rollouts(self, step: int, rollouts: list[Rollout]) -> None:
        folder = self.out / "rollouts"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".step_{step:06d}.jsonl.tmp"
        with tmp.open("w", encoding="utf-8") as f:
            for r in rollouts:
                f.write(json.dumps({"step": step, **asdict(r)}, default=str) + "\n")
        tmp.replace(folder / f"step_{step:06d}.jsonl")

    def close(self) -> None:
        self.tracker.close()


def _by_group(rollouts: list[Rollout], n: int) -> dict[int, list[Rollout]]:
    return {i // n: rollouts[i:i + n] for i in range(0, len(rollouts), n)}
