"""Multimodal pre-training (stage 1, seq_len 8192) and its long-context continuation (32768).

Both are the same command with different recipes: ``configs/pretrain.yaml`` and
``configs/pretrain_long.yaml`` (which adds video and long interleaved data and starts from the
stage-1 model). Loss on every text token; vision tokens carry none.
"""

from __future__ import annotations

from pathlib import Path

from thinkvl.config import load_config
from thinkvl.train.config import PretrainConfig
from thinkvl.train.loop import run_supervised


def load_pretrain_config(path: str | Path | None, overrides: list[str] | None = None) -> PretrainConfig:
    return load_config(PretrainConfig, path, overrides)


def run_pretrain(cfg: PretrainConfig, resume: bool = False) -> Path:
    """Train and return the final model folder (``run.out/final``)."""
    return run_supervised(cfg, resume=resume)
