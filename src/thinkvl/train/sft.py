"""Long-CoT SFT cold start: chat records whose assistant turn follows the response protocol
(``<think>…</think><answer>…<|begin_of_box|>X<|end_of_box|>…</answer>``); ``/nothink`` records
(empty think block) teach the hybrid mode. Loss on the assistant's tokens only."""

from __future__ import annotations

from pathlib import Path

from thinkvl.config import load_config
from thinkvl.train.config import SFTConfig
from thinkvl.train.loop import run_supervised


def load_sft_config(path: str | Path | None, overrides: list[str] | None = None) -> SFTConfig:
    return load_config(SFTConfig, path, overrides)


def run_sft(cfg: SFTConfig, resume: bool = False) -> Path:
    """Train and return the final model folder (``run.out/final``)."""
    return run_supervised(cfg, resume=resume)
