"""GRPO with Curriculum Sampling (RLCS), as the GLM-4.1V-Thinking report trains.

One step, top to bottom (``RLTrainer.step``):
 1. draw prompts by RLCS tier weights within domain quotas, oversampled by the EMA expansion;
 2. roll out a group of n completions per prompt (temperature 1, top-p 1, force-answering);
 3. score every rollout with the multi-domain reward system in one batch;
 4. fold each prompt's accuracy into its online pass-rate EMA (its tier moves);
 5. dynamic sampling: keep groups with signal, most balanced first; update the expansion EMA;
 6. group-normalised advantages (missing judgements excluded, never read as 0);
 7. clipped policy update (clip-higher, no KL, no entropy bonus, per-sample normalisation) in
    ``rl.mini_batches`` optimizer steps, old log-probs from the policy that sampled;
 8. sync rollout weights, log per-domain metrics, save rollouts, checkpoint.

The step's data is group-shaped (``rl.batch``): this rank's ``Group``s (prompt, completions,
reward results) and, after the step's one ``all_gather_object``, every rank's outcomes, from which
each rank derives the same kept set, advantages and mini-batch counts.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import torch

from thinkvl.config import dump_config
from thinkvl.model.factory import load_model, load_processor
from thinkvl.model.families import adapter_for
from thinkvl.rewards import RewardSystem
from thinkvl.rl import advantage as advantages
from thinkvl.rl import mismatch
from thinkvl.rl.actor import Actor
from thinkvl.rl.batch import Group, StepBatch, score_groups
from thinkvl.rl.config import RLConfig
from thinkvl.rl.curriculum import Curriculum, CurriculumSettings
from thinkvl.rl.data import load_prompts
from thinkvl.rl.dynamic import ExpansionEMA, select_groups
from thinkvl.rl.metrics import Rollout, domain_metrics, overall_metrics, think_close_id
from thinkvl.rl.preflight import check_format
from thinkvl.rl.rollout import make_engine
from thinkvl.runtime import checkpoint
from thinkvl.runtime.distributed import init_distributed, shard_model
from thinkvl.runtime.filler import dummy_vision_item
from thinkvl.runtime.optim import freeze_vision
from thinkvl.runtime.precision import load_for_training, resolve_save_dtype
from thinkvl.track import Tracker


class Phases:
    """Wall seconds per phase of a step."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


class RLTrainer:
    """Holds the run's parts; ``step()`` is one RLCS iteration."""

    def __init__(self, cfg: RLConfig, resume: bool = False):
        self.cfg = cfg
        self.info = init_distributed()
        self.out = Path(cfg.run.out)
        if not resume and checkpoint.latest_checkpoint(self.out) is not None:
            raise FileExistsError(f"{self.out} already holds checkpoints; pass --resume to continue that "
                                  "run, or set run.out to a new folder")
        if cfg.rl.prompts_per_step < self.info.world_size:
            raise ValueError(f"rl.prompts_per_step ({cfg.rl.prompts_per_step}) is below the number of processes "
                             f"({self.info.world_size}): every rank needs at least one prompt per step")
        torch.manual_seed(cfg.run.seed + self.info.rank)
        self.processor = load_processor(cfg.model)
        model = load_for_training(cfg.model, device=self.info.device)  # fp32 masters, even from bf16
        self.save_dtype = resolve_save_dtype(cfg.run.save_dtype, cfg.model)
        self.rewards = RewardSystem.from_yaml(cfg.rewards) if cfg.rewards else RewardSystem()
        self.prompts = load_prompts(cfg.data.train, skip_invalid=cfg.data.skip_invalid,
                                    media_roots=tuple(cfg.data.media_roots))
        self.by_id = {p.id: p for p in self.prompts}
        c = cfg.curriculum
        self.curriculum = Curriculum(
            [p.id for p in self.prompts], [p.domain for p in self.prompts],
            [p.offline_pass for p in self.prompts],
            CurriculumSettings(enabled=c.enabled, pass_ema=c.pass_ema, tier_weights=c.tier_weights,
                               domain_mix=c.domain_mix),
            seed=cfg.run.seed,
        )
        d = cfg.dynamic
        self.expansion = ExpansionEMA(decay=d.ema_decay, max_expansion=d.max_expansion, initial=d.initial_expansion)
        r = cfg.rollout
        self.engine = make_engine(r.engine, model, self.processor, r, model_path=cfg.model,
                                  batch_size=r.batch_size, distributed=self.info.world_size > 1,
                                  rollout=r, seed=cfg.run.seed)
        a, o = cfg.rl, cfg.optim
        self.adapter = adapter_for(model, self.processor)
        freeze_vision(model, o.vision_lr_scale, self.adapter, o.projector_lr_scale)
        shard_model(model, self.info, o.precision)
        reference = None
        if a.kl_coef > 0:  # off by default; a frozen copy only when asked
            reference = load_model(cfg.model, device=self.info.device).eval().requires_grad_(False)
        # Under FSDP every forward must run the vision tower (its blocks' collectives): micro-batches
        # without images get this loss-free dummy image row, as in the supervised stages.
        filler = dummy_vision_item(self.adapter).sample if self.info.distributed else None
        self.actor = Actor(model, self.processor.tokenizer.pad_token_id, a, o, total_steps=a.steps,
                           temperature=r.temperature, reference=reference, filler=filler, adapter=self.adapter)
        self.estimator = advantages.get_estimator(a.advantage)
        self.think_close = think_close_id(self.adapter)
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
            groups = [Group(p, c) for p, c in zip(mine, self.engine.rollout(mine, cfg.rollout.group_size),
                                                  strict=True)]

        # 3. Rewards for every rollout, one batched call; then the step's one gather: every
        #    rank sees every group's outcome, so curriculum, EMA and kept set stay identical.
        with phases("reward"):
            score_groups(self.rewards, groups)
        batch = StepBatch.gather(groups, self.think_close, info.rank)

        # Pre-flight (first step of a fresh run): a policy that cannot write the protocol yet
        # gives GRPO nothing but noise; stop before the first update, with a clear message.
        if step == 1 and cfg.rl.preflight_max_format_errors < 1.0:
            check_format(batch.rollouts, cfg.rl.preflight_max_format_errors)

        # 4. Online difficulty: each prompt's pass-rate EMA.
        for outcome in batch.outcomes:
            if outcome.accuracy is not None:
                self.curriculum.update(outcome.prompt_id, outcome.accuracy)

        # 5. Dynamic sampling: keep groups with signal, most balanced first; update the EMA.
        no_signal_rate = batch.no_signal_rate()
        if cfg.dynamic.enabled:
            batch.keep(select_groups(batch.correct, cfg.rl.prompts_per_step))
            self.expansion.update(no_signal_rate)
        else:
            batch.keep(range(len(batch.outcomes)))

        # 6. Advantages within each kept group (missing judgements get none).
        batch.assign_advantages(self.estimator)

        # 7. Policy update: the kept samples in rl.mini_batches optimizer steps, each normalised
        #    by its own sample/token counts over all ranks.
        mini_batches = batch.mini_batches(cfg.rl.mini_batches)
        train_stats = {}
        with phases("update"):
            if mini_batches:
                train_stats = self.actor.update(mini_batches)
        with phases("sync"):
            self.engine.sync(self.actor.model)

        # 8. Metrics per domain, rollouts for inspection, checkpoint.
        gap = train_stats.pop("mismatch_sums", None) or mismatch.MismatchSums()
        rollouts = batch.rollouts
        self.step_done = step
        self.counters["rollouts"] += len(rollouts)
        self.counters["tokens"] += sum(r.tokens for r in rollouts)
        self.counters["prompts"] += len(batch.outcomes)
        self.counters["seconds"] += time.perf_counter() - started
        metrics = {
            "domains": domain_metrics(rollouts, {o.index: o.rollouts for o in batch.outcomes}),
            **overall_metrics(rollouts),  # reward, accuracy: missing judgements left out, as per domain
            "prompts_drawn": len(batch.outcomes), "groups_kept": sum(o.kept for o in batch.outcomes),
            "rank_rollouts": batch.rollouts_per_rank(),  # each rank's share of the rollouts
            "samples_trained": sum(mb.total_samples for mb in mini_batches), "no_signal_rate": no_signal_rate,
            "expansion": self.expansion.value, "tier_mix": tier_mix,
            "force_answer_rate": sum(r.forced for r in rollouts) / max(1, len(rollouts)),
            "response_tokens": sum(r.tokens for r in rollouts) / max(1, len(rollouts)),
            "seconds": {**phases.seconds, "step": time.perf_counter() - started},
            "totals": dict(self.counters),
            **train_stats,
        }
        if cfg.rollout.engine == "vllm":  # the engine reports the log-probs it sampled with
            mismatch.log(metrics, gap, [r.domain for r in rollouts])
        if info.is_main:
            self.tracker.log(step, metrics)
            if cfg.run.save_rollouts:
                self._save_rollouts(step, rollouts)
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
                                          keep_last=self.cfg.run.keep_last, dtype=self.save_dtype)

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

