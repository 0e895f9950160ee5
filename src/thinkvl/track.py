"""Metrics sinks every stage writes through: JSONL always, TensorBoard by default, W&B on request.

``metrics.jsonl`` is the source of truth (reports and resumption read it); the other sinks are
views. Each line is flushed as written, so a crash loses at most the step in flight. On resume,
lines past the resumed step are dropped, so the file never holds two histories.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SINKS = ("jsonl", "tensorboard", "wandb")


def _flatten(prefix: str, value: Any, out: dict[str, float]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _flatten(f"{prefix}/{key}" if prefix else str(key), sub, out)
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        out[prefix] = float(value)


def flatten(metrics: dict) -> dict[str, float]:
    """``{"counting": {"reward": 0.5}}`` → ``{"counting/reward": 0.5}`` (numbers only)."""
    out: dict[str, float] = {}
    _flatten("", metrics, out)
    return out


class Tracker:
    """Write one metrics record per step to every configured sink."""

    def __init__(self, run_dir: str | Path, sinks: Iterable[str] = ("jsonl", "tensorboard"),
                 project: str = "thinkvl", config: dict | None = None, resume_step: int | None = None,
                 enabled: bool = True):
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        sinks = tuple(sinks)
        unknown = [s for s in sinks if s not in SINKS]
        if unknown:
            raise ValueError(f"unknown metrics sink(s) {unknown}; expected any of {list(SINKS)}")
        self.path = self.run_dir / "metrics.jsonl"
        self._tb = self._wandb = None
        if not enabled:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if resume_step is not None:
            truncate_after(self.path, resume_step)
        elif self.path.exists():
            self.path.unlink()
        self._file = self.path.open("a", encoding="utf-8")
        if "tensorboard" in sinks:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.run_dir / "tensorboard"))
            except ImportError:  # tensorboard missing: JSONL still has everything
                self._tb = None
        if "wandb" in sinks:
            import wandb  # optional extra: pip install thinkvl[wandb]

            self._wandb = wandb.init(project=project, dir=str(self.run_dir), config=config or {},
                                     resume="allow", id=os.environ.get("WANDB_RUN_ID"))

    def log(self, step: int, metrics: dict) -> None:
        if not self.enabled:
            return
        record = {"step": int(step), **metrics}
        self._file.write(json.dumps(record, default=_json_default) + "\n")
        self._file.flush()
        if self._tb is not None or self._wandb is not None:
            flat = flatten(metrics)
            if self._tb is not None:
                for key, value in flat.items():
                    self._tb.add_scalar(key, value, step)
                self._tb.flush()
            if self._wandb is not None:
                self._wandb.log(flat, step=step)

    def close(self) -> None:
        if not self.enabled:
            return
        self._file.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def read_metrics(path: str | Path) -> list[dict]:
    """All records of a ``metrics.jsonl`` (a torn last line from a crash is ignored)."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.jsonl"
    records = []
    if not path.exists():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def truncate_after(path: Path, step: int) -> None:
    """Keep only records with ``step <= step`` (resuming from that step's checkpoint)."""
    if not path.exists():
        return
    kept = [r for r in read_metrics(path) if r.get("step", 0) <= step]
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    tmp.replace(path)
