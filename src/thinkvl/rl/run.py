"""Run an RL job end to end: held-out accuracy before, RLCS steps, final model, accuracy after.

Everything lands in the run folder: ``metrics.jsonl``, ``rollouts/``, ``checkpoints/``,
``final/`` and ``summary.json`` (steps, rollouts, tokens and wall time are always reported:
the report never said how many RL steps it ran; we do).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from thinkvl.eval.heldout import heldout_accuracy, heldout_gain, heldout_records
from thinkvl.rl.config import RLConfig
from thinkvl.rl.trainer import RLTrainer
from thinkvl.runtime import checkpoint


def heldout(trainer: RLTrainer, limit: int | None = None) -> dict | None:
    """Held-out accuracy of the current policy (``eval.heldout``), on the main process only."""
    cfg = trainer.cfg
    if not cfg.data.eval or not trainer.info.is_main:
        return None
    limit = limit or cfg.data.eval_limit
    r = cfg.rollout
    return heldout_accuracy(
        getattr(trainer.engine, "model", trainer.actor.model), trainer.processor,
        heldout_records(cfg.data.eval, limit) if limit else cfg.data.eval, trainer.rewards,
        r.model_copy(update={"seed": cfg.run.seed}), batch_size=r.batch_size, samples=cfg.run.eval_samples)


def run_rl(cfg: RLConfig, resume: bool = False, log=print) -> dict:
    trainer = RLTrainer(cfg, resume=resume)
    out = Path(cfg.run.out)
    started = time.perf_counter()
    before_path = out / "eval_before.json"
    before = json.loads(before_path.read_text()) if before_path.exists() and resume else heldout(trainer)
    if before is not None:
        before_path.write_text(json.dumps(before, indent=1))
    evals = {}
    with Progress(TextColumn("[bold]RL[/] step {task.completed}/{task.total}"), BarColumn(),
                  TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                  disable=not (cfg.run.progress and trainer.info.is_main)) as bar:
        task = bar.add_task("rl", total=cfg.rl.steps, completed=trainer.step_done, status="")
        while trainer.step_done < cfg.rl.steps:
            try:
                m = trainer.step()
            except BaseException:
                trainer.close()  # flush the metrics sinks; the last checkpoint stays as it was
                raise
            bar.update(task, completed=trainer.step_done,
                       status=f"reward {m['reward']:.2f} acc {m['accuracy']:.2f} expansion {m['expansion']:.2f}")
            if cfg.run.eval_every and trainer.step_done % cfg.run.eval_every == 0:
                evals[trainer.step_done] = heldout(trainer)
    if trainer.step_done and (not cfg.run.save_every or trainer.step_done % cfg.run.save_every):
        trainer.save()
    final = checkpoint.export_final(out, trainer.actor.model, trainer.processor, trainer.save_dtype)
    after = heldout(trainer)
    trainer.close()
    summary = {
        "steps": trainer.step_done, "rollouts": trainer.counters["rollouts"],
        "tokens_generated": trainer.counters["tokens"], "prompts": trainer.counters["prompts"],
        "train_seconds": trainer.counters["seconds"], "wall_seconds": time.perf_counter() - started,
        "final_expansion": trainer.expansion.value, "final_model": str(final),
        "eval_before": before, "eval_after": after, "evals": evals,
        # paired bootstrap 95% intervals of the held-out change (greedy, and sampled when measured)
        "heldout_gain": heldout_gain(before, after, seed=cfg.run.seed) if before and after else None,
    }
    if trainer.info.is_main:
        (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary
