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

from thinkvl.rl.config import RLConfig
from thinkvl.rl.trainer import RLTrainer
from thinkvl.train import checkpoint


def heldout(trainer: RLTrainer, limit: int | None = None) -> dict | None:
    """Held-out accuracy per domain, scored by the same reward system as training: greedy, and
    with ``run.eval_samples`` > 0 also the mean over that many samples per record at the rollout
    temperature (``sampled``) - the quantity RL itself maximises, so it shows learning that has
    not yet moved the greedy answer."""
    cfg = trainer.cfg
    if not cfg.data.eval or not trainer.info.is_main:
        return None
    from thinkvl.eval.runner import evaluate
    from thinkvl.eval.scoring import Scorer

    limit = limit or cfg.data.eval_limit
    records = heldout_records(cfg.data.eval, limit) if limit else cfg.data.eval
    model = getattr(trainer.engine, "model", trainer.actor.model)
    r = cfg.rollout
    budgets = {"max_new_tokens": r.think_budget, "answer_budget": r.answer_budget}
    scorer = Scorer(rewards=trainer.rewards)

    def run(sampling: dict):
        return evaluate(model, trainer.processor, records, mode="think", sampling=sampling,
                        scorer=scorer, batch_size=r.batch_size)

    summary = eval_summary(run({**budgets, "temperature": 0.0}))
    if cfg.run.eval_samples:
        draws = [eval_summary(run({**budgets, "temperature": r.temperature, "top_p": r.top_p,
                                   "seed": cfg.run.seed + k}))
                 for k in range(cfg.run.eval_samples)]
        acc = {d: sum(x["accuracy"][d] for x in draws) / len(draws) for d in draws[0]["accuracy"]}
        summary["sampled"] = {"samples": cfg.run.eval_samples, "temperature": r.temperature,
                              "accuracy": acc, "mean_accuracy": sum(acc.values()) / max(1, len(acc))}
    return summary


def heldout_records(path, per_domain: int) -> list[dict]:
    """The first ``per_domain`` held-out records of every domain."""
    from thinkvl.data.io import read_records
    from thinkvl.rl.data import first_per_domain

    return first_per_domain(read_records(path, kind="rl"), per_domain, lambda rec: rec["domain"])


def eval_summary(result) -> dict:
    """Per-domain accuracy, invalid-answer rate and counts of an evaluation."""
    acc = {d: m.accuracy for d, m in sorted(result.by_domain.items())}
    return {"accuracy": acc, "mean_accuracy": sum(acc.values()) / max(1, len(acc)),
            "invalid_rate": {d: m.invalid_rate for d, m in sorted(result.by_domain.items())},
            "n": {d: m.n for d, m in sorted(result.by_domain.items())},
            "overall_accuracy": result.accuracy}


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
    final = checkpoint.export_final(out, trainer.actor.model, trainer.processor)
    after = heldout(trainer)
    trainer.close()
    summary = {
        "steps": trainer.step_done, "rollouts": trainer.counters["rollouts"],
        "tokens_generated": trainer.counters["tokens"], "prompts": trainer.counters["prompts"],
        "train_seconds": trainer.counters["seconds"], "wall_seconds": time.perf_counter() - started,
        "final_expansion": trainer.expansion.value, "final_model": str(final),
        "eval_before": before, "eval_after": after, "evals": evals,
    }
    if trainer.info.is_main:
        (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary
