"""`thinkvl report RUN_DIR`: regenerate the HTML report of any RL, demo or eval run folder."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console()


def report_command(
    run_dir: Path = typer.Argument(
        ..., help="Run folder: RL (metrics.jsonl), demo or eval (results.json)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="HTML file to write (default RUN_DIR/report.html)."
    ),
    screenshot: Path | None = typer.Option(
        None,
        "--screenshot",
        help="Also save a full-page PNG (needs playwright and a system Chromium).",
    ),
    steps: int = typer.Option(
        3, "--steps", min=0, help="Latest saved steps sampled in the rollout inspector."
    ),
    per_domain: int = typer.Option(
        6, "--per-domain", min=0, help="Sampled rollouts per step and domain."
    ),
) -> None:
    """Write a self-contained HTML report: charts, per-domain table, rollout inspector, settings."""
    from thinkvl.report import InspectorLimits, NotARunError, build_report

    try:
        path = build_report(run_dir, out, InspectorLimits(steps=steps, per_domain_step=per_domain))
    except NotARunError as err:
        console.print(f"[red]not a run folder:[/] {err}")
        raise typer.Exit(2) from None
    size = path.stat().st_size / 1024
    console.print(f"report: {path} ({size:,.0f} KiB) — open it in a browser")
    if screenshot is not None:
        from thinkvl.report.screenshot import screenshot as take

        try:
            errors = take(path, screenshot)
        except RuntimeError as err:
            console.print(f"[red]screenshot failed:[/] {err}")
            raise typer.Exit(1) from None
        console.print(f"screenshot: {screenshot}")
        for e in errors:
            console.print(f"[yellow]{e}[/]")
