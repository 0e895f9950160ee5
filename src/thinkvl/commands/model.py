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
    family: str = typer.Option("glm4v", help="Model family: glm4v, qwen2_vl, qwen2_5_vl, qwen3_vl, gemma3, "
                                             "llava_onevision, internvl, idefics3, smolvlm."),
    template: str | None = typer.Option(None, help="Another shipped chat template for the family (e.g. qwen3_vl_thinking)."),
) -> None:
    """Build a tiny randomly initialised model of a VLM family with its tokenizer and processor."""
    from thinkvl.model.factory import PRESETS, build_tiny, count_parameters, load_model
    from thinkvl.model.families import FAMILIES, get_family
    from thinkvl.model.families.tiny import build_tiny_family

    if family != "glm4v":
        try:
            get_family(family)
        except ValueError as err:
            raise typer.BadParameter(f"{err} (one of {', '.join(FAMILIES)})", param_hint="--family") from err
        path = build_tiny_family(family, out, seed=seed, template=template)
        n = count_parameters(load_model(path))
        console.print(f"[green]wrote[/] {path}  ({n / 1e6:.2f}M parameters, family {family})")
        return
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
