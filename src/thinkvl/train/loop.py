"""The supervised training loop shared by pre-training and SFT.

Read top to bottom: set up (process group, model, FSDP2, optimizer, schedule, data feed, resume),
then for each step: take this process's packed rows (encoded one step ahead on a background
thread), split them into modality-homogeneous micro-batches, weight each micro-batch's loss by
the step's total token/sample count, step the optimizer, log metrics (loss, lr, grad norm,
packing efficiency, tokens/s, skipped samples), and checkpoint atomically every ``save_every``
steps and at the end (plus ``final/``).

Testing hook: ``THINKVL_FAULT_AFTER_STEP=k`` makes the process SIGKILL itself right after step
``k`` is logged (and saved, when it is a save step) — a real crash for resume tests.
"""

from __future__ import annotations

import logging
import math
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import torch

from thinkvl.config import dump_config
from thinkvl.data.packing import Pack, collate_packs, efficiency, make_rope_positions
from thinkvl.model.factory import build_tiny, load_model, load_processor
from thinkvl.track import Tracker
from thinkvl.train import checkpoint as ckpt
from thinkvl.train import distributed as D
from thinkvl.train.config import SupervisedConfig
from thinkvl.train.data import StepFeed
from thinkvl.train.loss import scale_loss, token_losses
from thinkvl.train.prefetch import PrefetchedFeed
from thinkvl.train.samples import Budget, SampleEncoder, dummy_vision_item

log = logging.getLogger("thinkvl.train")
FAULT_ENV = "THINKVL_FAULT_AFTER_STEP"


def lr_lambda(step: int, total: int, warmup: int, schedule: str, min_ratio: float) -> float:
    """Linear warm-up, then cosine / linear decay to ``min_ratio`` (or constant)."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule == "linear":
        return 1.0 - (1.0 - min_ratio) * progress
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def micro_batches(packs: list[Pack], size: int) -> list[list[Pack]]:
    """Rows grouped by modality (GLM-4.1V cannot mix images and video), ``size`` rows each."""
    by_modality: dict[str, list[Pack]] = {}
    for pack in packs:
        by_modality.setdefault(pack.modality, []).append(pack)
    return [group[i:i + size] for group in by_modality.values() for i in range(0, len(group), size)]


VISION_MODULES = ("visual", "vision_tower", "vision_model")


def is_vision_param(name: str) -> bool:
    """Parameters of the vision encoder (GLM/Qwen ``visual``, LLaVA ``vision_tower``, …)."""
    return any(part in VISION_MODULES for part in name.split("."))


def freeze_vision(model, vision_lr_scale: float) -> None:
    """``vision_lr_scale == 0`` freezes the vision tower: no gradients, no optimizer state."""
    if vision_lr_scale == 0:
        for name, p in model.named_parameters():
            if is_vision_param(name):
                p.requires_grad_(False)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class SupervisedTrainer:
    def __init__(self, cfg: SupervisedConfig, info: D.DistInfo, resume: bool = False):
        self.cfg, self.info = cfg, info
        self.run_dir = Path(cfg.run.out)
        seed_everything(cfg.run.seed + info.rank)

        # where to start: the latest checkpoint (resume) or the configured model folder
        start = ckpt.latest_checkpoint(self.run_dir) if resume else None
        if not resume and ckpt.latest_checkpoint(self.run_dir) is not None:
            raise FileExistsError(f"{self.run_dir} already holds checkpoints; pass --resume to continue "
                                  "that run, or set run.out to a new folder")
        model_path = start / ckpt.MODEL_DIR if start else self._initial_model()
        if info.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            dump_config(cfg, self.run_dir / "config.yaml")

        # model, FSDP2, optimizer, schedule
        self.processor = load_processor(model_path)
        dtype = torch.bfloat16 if cfg.model.dtype == "bfloat16" else torch.float32
        model = load_model(model_path, dtype=dtype)
        if cfg.model.attn_implementation:
            model.set_attn_implementation(cfg.model.attn_implementation)
        self.positions = make_rope_positions(model)
        if cfg.model.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
        freeze_vision(model, cfg.optim.vision_lr_scale)
        model.to(info.device).train()
        self.model = D.shard_model(model, info, cfg.model.mixed_precision)
        self.optimizer = self._optimizer()
        o = cfg.optim
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: lr_lambda(
            s, cfg.train.steps, o.warmup_steps, o.schedule, o.min_lr_ratio))

        # data: this process's shards, packed to seq_len
        d = cfg.data
        budget = Budget(d.seq_len, d.max_image_tokens, d.max_video_tokens, d.video_fps, d.min_frame_pair_tokens)
        encoder = SampleEncoder(self.processor, cfg.STAGE, budget, positions=self.positions)
        self.feed = StepFeed(d.train, rank=info.rank, world_size=info.world_size, shards=d.shards,
                             packs_per_step=cfg.train.packs_per_step, encode=encoder,
                             seq_len=d.seq_len, buffer_tokens=int(d.pack_buffer_rows * d.seq_len),
                             shuffle_seed=cfg.run.seed if d.shuffle else None, buffer_size=d.buffer_size,
                             skip_invalid=d.skip_invalid, skip_bad_samples=d.skip_bad_media,
                             media_roots=tuple(d.media_roots))
        if d.prefetch:
            self.feed = PrefetchedFeed(self.feed)
        self.filler = dummy_vision_item(self.processor, self.positions) if info.distributed else None

        self.step = 0
        if start is not None:
            state = ckpt.load_checkpoint(start, self.model, self.optimizer, self.scheduler,
                                         load_model_weights=False)
            self.step = state["step"]
            self.feed.load_state_dict(state["extra"]["data"])
            if info.is_main:
                log.info("resumed from %s (step %d)", start, self.step)
        self.tracker = Tracker(self.run_dir, sinks=cfg.run.sinks, config=cfg.model_dump(mode="json"),
                               resume_step=self.step if start is not None else None, enabled=info.is_main)

    def _initial_model(self) -> Path:
        path = Path(self.cfg.model.path)
        if not (path / "config.json").exists() and self.cfg.model.init_if_missing:
            if self.info.is_main:
                build_tiny(path, preset=self.cfg.model.init_if_missing, seed=self.cfg.model.init_seed)
            D.barrier()
        return path

    def _optimizer(self) -> torch.optim.Optimizer:
        """AdamW; no weight decay on biases and norm weights (1-D parameters); the vision tower
        at ``lr × vision_lr_scale``."""
        o = self.cfg.optim
        groups: dict[tuple[bool, bool], list] = {}
        for name, p in self.model.named_parameters():
            if p.requires_grad:
                groups.setdefault((is_vision_param(name), p.ndim >= 2), []).append(p)
        param_groups = [{"params": ps, "weight_decay": o.weight_decay if decay else 0.0,
                         "lr": o.lr * (o.vision_lr_scale if vision else 1.0)}
                        for (vision, decay), ps in sorted(groups.items())]
        return torch.optim.AdamW(param_groups, lr=o.lr, betas=o.betas, eps=o.eps,
                                 foreach=self.info.device.type == "cuda")

    # -- one step ------------------------------------------------------------------------------

    def train_step(self, packs: list[Pack]) -> dict:
        cfg, info = self.cfg, self.info
        plan = micro_batches(packs, cfg.train.micro_batch_packs)
        items = [item for pack in packs for item in pack.items]
        local = torch.tensor([sum(i.loss_tokens for i in items), sum(1 for i in items if i.loss_tokens),
                              sum(p.length for p in packs), len(packs), len(plan)], dtype=torch.float64)
        total = D.all_reduce_sum(local[:4])
        n_micro = int(D.all_reduce_max(local[4]))  # every rank runs as many forwards (collectives)
        tokens, samples = float(total[0]), float(total[1])

        loss_sum = torch.zeros((), dtype=torch.float64)
        for i in range(n_micro):
            real = i < len(plan)
            batch = collate_packs(plan[i] if real else plan[0], self.processor.tokenizer.pad_token_id,
                                  filler=self.filler)
            batch = {k: v.to(info.device) for k, v in batch.items()}
            if info.distributed:
                self.model.set_requires_gradient_sync(i == n_micro - 1)
            with self._autocast():
                ce, sample = token_losses(self.model, batch)
            loss = scale_loss(ce, sample, cfg.train.loss_normalization, tokens, samples, info.world_size)
            (loss if real else loss * 0.0).backward()
            if real:
                loss_sum += ce.detach().double().sum().cpu()

        for p in self.model.parameters():  # a tower unused this step still gets its momentum step,
            if p.requires_grad and p.grad is None:  # as under FSDP (where the filler runs it)
                p.grad = torch.zeros_like(p)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.optim.grad_clip)
        if hasattr(grad_norm, "full_tensor"):
            grad_norm = grad_norm.full_tensor()
        lr = self.scheduler.get_last_lr()[0]  # groups sort language-model first
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return {
            "loss": float(D.all_reduce_sum(loss_sum)) / max(tokens, 1.0),
            "lr": lr,
            "grad_norm": float(grad_norm),
            "tokens": int(total[2]),
            "loss_tokens": int(tokens),
            "samples": int(samples),
            "packing_efficiency": float(total[2]) / max(float(total[3]) * cfg.data.seq_len, 1.0),
        }

    def _autocast(self):
        if self.cfg.model.mixed_precision == "bf16" and not self.info.distributed:
            return torch.autocast(self.info.device.type, dtype=torch.bfloat16)
        return torch.autocast(self.info.device.type, enabled=False)

    # -- the run -------------------------------------------------------------------------------

    def fit(self) -> Path:
        cfg, info = self.cfg, self.info
        fault = int(os.environ.get(FAULT_ENV, "0") or 0)
        with _progress(info.is_main and cfg.run.progress, cfg.train.steps, self.step) as bar:
            while self.step < cfg.train.steps:
                t0 = time.perf_counter()
                packs = self.feed.next_step()
                metrics = self.train_step(packs)
                self.step += 1
                elapsed = time.perf_counter() - t0
                metrics["tokens_per_s"] = metrics["tokens"] / max(elapsed, 1e-9)
                metrics["step_time_s"] = elapsed
                metrics["local_packing_efficiency"] = efficiency(packs)
                skipped = D.all_gather_object(self.feed.skip_counts())
                metrics["skipped"] = _sum_counts(skipped)
                self.tracker.log(self.step, metrics)
                bar(self.step, metrics)
                if cfg.run.save_every and self.step % cfg.run.save_every == 0 and self.step < cfg.train.steps:
                    self.save()
                if fault and self.step == fault:
                    os.kill(os.getpid(), signal.SIGKILL)
        self.save()
        final = ckpt.export_final(self.run_dir, self.model, self.processor)
        self.tracker.close()
        return final

    def save(self) -> Path:
        """Checkpoint with every shard's data position (gathered from all processes)."""
        states = D.all_gather_object(self.feed.state_dict())
        merged = {"shards": self.feed.shards, "feeds": {}}
        for state in states:
            merged["feeds"].update(state["feeds"])
        return ckpt.save_checkpoint(self.run_dir, self.step, self.model, self.processor, self.optimizer,
                                    self.scheduler, extra={"data": merged, "stage": self.cfg.STAGE},
                                    keep_last=self.cfg.run.keep_last)


def _sum_counts(counts: list[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in counts:
        for k, v in c.items():
            out[k] = out.get(k, 0) + int(v)
    return out


class _progress:
    """A rich progress bar with loss, tokens/s and packing efficiency (a no-op when off)."""

    def __init__(self, enabled: bool, total: int, start: int):
        self.enabled, self.total, self.start = enabled, total, start

    def __enter__(self):
        if not self.enabled:
            return lambda step, metrics: None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[info]}"), TimeRemainingColumn())
        self.progress.start()
        self.task = self.progress.add_task("train", total=self.total, completed=self.start, info="")

        def update(step: int, m: dict) -> None:
            info = (f"loss {m['loss']:.4f}  {m['tokens_per_s']:,.0f} tok/s  "
                    f"pack {m['packing_efficiency']:.1%}")
            self.progress.update(self.task, completed=step, info=info)

        return update

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.progress.stop()


def run_supervised(cfg: SupervisedConfig, resume: bool = False) -> Path:
    """Run one supervised stage (single process, or one rank under torchrun); returns final/."""
    info = D.init_distributed()
    try:
        return SupervisedTrainer(cfg, info, resume=resume).fit()
    finally:
        D.cleanup()
