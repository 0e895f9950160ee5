"""`thinkvl pretrain` and `thinkvl sft`: run a supervised stage from a YAML recipe.

Single process when run plainly; under ``torchrun --nproc_per_node N`` every rank runs the same
command and the model is sharded with FSDP2. Overrides are ``section.key=value`` (bare or with
``--set``); ``--out`` is short for ``run.out=…``.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

console = Console()

_CONFIG = typer.Option(..., "--config", "-c", help="Recipe YAML, or the name of a shipped one (e.g. demo_pretrain).")
_OVERRIDES = typer.Argument(None, help="Overrides such as data.seq_len=4096 train.steps=100.", show_default=False)
_SET = typer.Option(None, "--set", help="An override key=value (repeatable).", show_default=False)
_RESUME = typer.Option(False, "--resume", help="Continue the run folder's latest checkpoint exactly.")
_OUT = typer.Option(None, "--out", help="Run folder (same as run.out=…).")


def _run(stage: str, config: Path, overrides: list[str] | None, sets: list[str] | None,
         resume: bool, out: Path | None) -> None:
    from thinkvl.config import ConfigError, load_config
    from thinkvl.train.config import PretrainConfig, SFTConfig
    from thinkvl.train.loop import run_supervised

    items = [*(overrides or []), *(sets or [])]
    if out is not None:
        items.append(f"run.out={out}")
    model = PretrainConfig if stage == "pretrain" else SFTConfig
    try:
        cfg = load_config(model, config, items)
    except ConfigError as err:
        console.print(f"[red]config error:[/] {err}")
        raise typer.Exit(2) from None
    from thinkvl.data.schema import RecordError
    from thinkvl.runtime.checkpoint import UnsafeCheckpoint
    from thinkvl.train.samples import SampleError

    try:
        final = run_supervised(cfg, resume=resume)
    except (RecordError, SampleError, UnsafeCheckpoint) as err:  # the data's fault: no traceback
        console.print(f"[red]{stage} stopped:[/] {escape(str(err))}", soft_wrap=True)
        raise typer.Exit(2) from None
    if os.environ.get("RANK", "0") == "0":
        console.print(f"[green]{stage} done[/]: model in {final}, metrics in "
                      f"{Path(cfg.run.out) / 'metrics.jsonl'}", soft_wrap=True)


def pretrain_command(config: Path = _CONFIG, overrides: list[str] = _OVERRIDES, sets: list[str] = _SET,
                     resume: bool = _RESUME, out: Path = _OUT) -> None:
    """Multimodal pre-training with sequence packing (stage 1 or long-context, by recipe)."""
    _run("pretrain", config, overrides, sets, resume, out)


def sft_command(config: Path = _CONFIG, overrides: list[str] = _OVERRIDES, sets: list[str] = _SET,
                resume: bool = _RESUME, out: Path = _OUT) -> None:
    """Supervised fine-tuning on chat records (loss on assistant tokens; /nothink for hybrid mode)."""
    _run("sft", config, overrides, sets, resume, out)
