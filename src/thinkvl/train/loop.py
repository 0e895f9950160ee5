"""The supervised training loop shared by pre-training and SFT.

Read top to bottom: set up (process group, model and its family adapter, the protocol markers
at SFT start, FSDP2, optimizer, schedule, data feed, resume), then for each step: take this
process's packed rows (encoded one step ahead on a background thread), split them into
micro-batches one forward pass can take (the family's batch groups), weight each micro-batch's loss by
the step's total token/sample count, step the optimizer, log metrics (loss, lr, grad norm,
packing efficiency, tokens/s, skipped samples), and checkpoint atomically every ``save_every``
steps and at the end (plus ``final/``).

Testing hook: ``THINKVL_FAULT_AFTER_STEP=k`` makes the process SIGKILL itself right after step
``k`` is logged (and saved, when it is a save step) — a real crash for resume tests.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

import torch

from thinkvl.config import dump_config
from thinkvl.data.packing import Pack, collate_packs, efficiency, make_rope_positions
from thinkvl.model.factory import load_processor
from thinkvl.model.families import adapter_for
from thinkvl.runtime import checkpoint as ckpt
from thinkvl.runtime import distributed as D
from thinkvl.runtime.filler import dummy_vision_item
from thinkvl.runtime.optim import build_optimizer, freeze_vision, seed_everything
from thinkvl.runtime.precision import autocast, load_for_training, resolve_save_dtype
from thinkvl.track import Tracker
from thinkvl.train.config import SupervisedConfig
from thinkvl.train.data import StepFeed
from thinkvl.train.loss import scale_loss, token_losses
from thinkvl.train.prefetch import PrefetchedFeed
from thinkvl.train.samples import Budget, SampleEncoder

log = logging.getLogger("thinkvl.train")
FAULT_ENV = "THINKVL_FAULT_AFTER_STEP"


def micro_batches(packs: list[Pack], size: int) -> list[list[Pack]]:
    """Rows grouped by batch group (``PackItem.batch``: GLM-4.1V cannot mix images and video),
    ``size`` rows each."""
    by_modality: dict[str, list[Pack]] = {}
    for pack in packs:
        by_modality.setdefault(pack.modality, []).append(pack)
    return [group[i:i + size] for group in by_modality.values() for i in range(0, len(group), size)]


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

        # model (fp32 master weights whatever the folder holds), FSDP2, optimizer, schedule
        self.processor = load_processor(model_path)
        self.save_dtype = resolve_save_dtype(cfg.run.save_dtype, Path(cfg.model.path))
        model = load_for_training(model_path)
        if cfg.model.attn_implementation:
            model.set_attn_implementation(cfg.model.attn_implementation)
        self.adapter = adapter_for(model, self.processor)
        if cfg.STAGE == "sft":  # the protocol markers become tokens (saved with every checkpoint)
            added = self.adapter.add_markers(model)
            if added and info.is_main:
                log.info("added protocol markers as special tokens (embeddings resized): %s", " ".join(added))
        self.positions = make_rope_positions(model, self.adapter)
        if cfg.model.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
        freeze_vision(model, cfg.optim.vision_lr_scale, self.adapter, cfg.optim.projector_lr_scale)
        model.to(info.device).train()
        self.model = D.shard_model(model, info, cfg.optim.precision)
        self.optimizer, self.scheduler = build_optimizer(self.model, cfg.optim, cfg.train.steps, self.adapter)

        # data: this process's shards, packed to seq_len
        d = cfg.data
        budget = Budget(d.seq_len, d.max_image_tokens, d.max_video_tokens, d.video_fps, d.min_frame_pair_tokens)
        encoder = SampleEncoder(self.adapter, cfg.STAGE, budget, positions=self.positions)
        self.feed = StepFeed(d.train, rank=info.rank, world_size=info.world_size, shards=d.shards,
                             packs_per_step=cfg.train.packs_per_step, encode=encoder,
                             seq_len=d.seq_len, buffer_tokens=int(d.pack_buffer_rows * d.seq_len),
                             shuffle_seed=cfg.run.seed if d.shuffle else None, buffer_size=d.buffer_size,
                             skip_invalid=d.skip_invalid, skip_bad_samples=d.skip_bad_media,
                             media_roots=tuple(d.media_roots))
        if d.prefetch:
            self.feed = PrefetchedFeed(self.feed)
        self.filler = dummy_vision_item(self.adapter, self.positions) if info.distributed else None

        self.step = 0
        if start is not None:
            # the exact fp32 weights (model/ may have been saved in bf16)
            state = ckpt.load_checkpoint(start, self.model, self.optimizer, self.scheduler)
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
                build_initial(path, self.cfg.model.init_if_missing, self.cfg.model.init_seed)
            D.barrier()
        return path

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
                                  filler=self.filler, adapter=self.adapter)
            batch = {k: v.to(info.device) for k, v in batch.items()}
            D.gradient_sync(self.model, i == n_micro - 1)
            with autocast(cfg.optim.precision, info.device, info.distributed):
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
        final = ckpt.export_final(self.run_dir, self.model, self.processor, self.save_dtype)
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
                                    keep_last=self.cfg.run.keep_last, dtype=self.save_dtype)


def build_initial(path: Path, init: str, seed: int) -> Path:
    """A fresh tiny model at ``path``: a GLM-4.1V preset (tiny, small) or a family's tiny model."""
    from thinkvl.model.factory import PRESETS, build_tiny
    from thinkvl.model.families import FAMILIES
    from thinkvl.model.families.tiny import build_tiny_family

    if init in PRESETS:
        return build_tiny(path, preset=init, seed=seed)
    if init in FAMILIES:
        return build_tiny_family(init, path, seed=seed)
    raise ValueError(f"model.init_if_missing={init!r}: expected a preset ({', '.join(PRESETS)}) or a family "
                     f"({', '.join(FAMILIES)})")


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
