"""`thinkvl model …`: build the tiny model, inspect any model folder."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(help="Build and inspect models.", no_args_is_help=True)
console = Console()


@app.command("init")
def init(
    out: Path = typer.Option(..., "--out", help="Folder to write the Hugging Face model into."),
    preset: str = typer.Option("tiny", help="Model size preset: tiny or small."),
    seed: int = typer.Option(0, help="Seed of the random initialisation."),
) -> None:
    """Build a randomly initialised GLM-4.1V-architecture model with its tokenizer and processor."""
    from thinkvl.model.factory import PRESETS, build_tiny, count_parameters, load_model

    if preset not in PRESETS:
        raise typer.BadParameter(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}", param_hint="--preset")
    path = build_tiny(out, preset=preset, seed=seed)
    n = count_parameters(load_model(path))
    console.print(f"[green]wrote[/] {path}  ({n / 1e6:.2f}M parameters, preset {preset})")


@app.command("info")
def info(path: Path = typer.Argument(..., help="A Hugging Face model folder.")) -> None:
    """Print a model folder's architecture, size and vision budgets."""
    from thinkvl.model.factory import count_parameters, load_model, load_processor

    model = load_model(path)
    processor = load_processor(path)
    console.print(f"{path}: {type(model).__name__}, {count_parameters(model) / 1e6:.2f}M parameters, "
                  f"vocabulary {len(processor.tokenizer)}")
    image = getattr(processor, "image_processor", None)
    if image is not None:
        console.print(f"image size limits: {dict(image.size)}")
