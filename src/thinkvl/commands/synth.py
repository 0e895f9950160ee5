"""`thinkvl synth`: generate the synthetic multimodal world (data for every stage on a laptop)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Generate the synthetic multimodal world.")
console = Console()


def synth_command(
    out: Path = typer.Option(..., "--out", help="Output folder (JSONL files, media/, manifest)."),
    per_domain: int = typer.Option(
        1000, "--per-domain", min=1,
        help="RL-train records per domain; sft N, rl_eval max(N//4, 16), pretrain N."),
    seed: int = typer.Option(0, "--seed", help="Same seed → byte-identical files."),
    domains: str | None = typer.Option(
        None, "--domains", help="Comma-separated subset, e.g. counting,ocr (default: all)."),
    image_size: int = typer.Option(64, "--image-size", min=32, max=1024,
                                   help="Image side in pixels."),
    levels: str = typer.Option("1,2,3,4", "--levels",
                               help="Comma-separated difficulty levels to draw, e.g. 1,2."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Generate pretrain / sft / rl_train / rl_eval JSONL files with their media."""
    from thinkvl.data.synthetic import generate_world, resolve_domains

    try:
        names = resolve_domains(domains)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--domains") from None
    try:
        level_list = [int(x) for x in levels.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"expected integers such as 1,2 — got {levels!r}",
                                 param_hint="--levels") from None
    start = time.perf_counter()
    try:
        manifest = generate_world(out, per_domain=per_domain, seed=seed, domains=names,
                                  image_size=image_size, progress=progress, levels=level_list)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--levels") from None
    elapsed = time.perf_counter() - start
    table = Table(title=f"synthetic world in {out}")
    table.add_column("domain")
    files = manifest["files"]
    for name in files:
        table.add_column(name.removesuffix(".jsonl"), justify="right")
    for domain in names:
        table.add_row(domain, *(str(files[f]["by_domain"].get(domain, 0)) for f in files))
    table.add_row("total", *(str(files[f]["total"]) for f in files), style="bold")
    console.print(table)
    console.print(f"{manifest['media_files']} media files, seed {seed}, "
                  f"{image_size}px, {elapsed:.1f} s")


app.command("synth")(synth_command)
