"""`thinkvl rl --config … [key=value …]` trains; `thinkvl rl grade` writes offline difficulty."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from thinkvl.commands.overrides import OverridesGroup

console = Console()


app = typer.Typer(cls=OverridesGroup, invoke_without_command=True,
                  help="RL with curriculum sampling (GRPO, clip-higher, dynamic sampling).")


@app.callback()
def rl(
    ctx: typer.Context,
    config: Path = typer.Option(None, "--config", "-c", help="RL recipe YAML, or the name of a shipped one (e.g. demo_rl)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the run folder's latest checkpoint."),
) -> None:
    """Train a policy with RLCS. Extra `section.key=value` arguments override the recipe."""
    if ctx.invoked_subcommand is not None:
        return
    if config is None:
        raise typer.BadParameter("give a recipe with --config (a file, or a shipped recipe such as demo_rl)", param_hint="--config")
    from thinkvl.config import ConfigError, load_config
    from thinkvl.rl.config import RLConfig
    from thinkvl.rl.run import run_rl

    try:
        cfg = load_config(RLConfig, config, ctx.meta.get("overrides", []))
    except ConfigError as err:
        console.print(f"[red]config error:[/] {err}")
        raise typer.Exit(2) from None
    from thinkvl.data.schema import RecordError
    from thinkvl.rl.preflight import PreflightError
    from thinkvl.runtime.checkpoint import UnsafeCheckpoint

    try:
        summary = run_rl(cfg, resume=resume)
    except PreflightError as err:
        console.print(f"[red]pre-flight check failed:[/] {err}")
        raise typer.Exit(1) from None
    except (RecordError, UnsafeCheckpoint) as err:  # the data's fault: FILE:LINE, no traceback
        console.print(f"[red]rl stopped:[/] {escape(str(err))}", soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(json.dumps({k: summary[k] for k in ("steps", "rollouts", "tokens_generated", "wall_seconds")}))


@app.command("grade")
def grade_command(
    data: Path = typer.Argument(..., help="RL records to grade (JSONL/Parquet)."),
    model: Path = typer.Option(..., "--model", help="Model folder whose pass@k defines difficulty."),
    k: int = typer.Option(8, "--k", help="Samples per prompt."),
    think_budget: int = typer.Option(48, help="Think tokens before the answer is forced."),
    answer_budget: int = typer.Option(24, help="Answer tokens after forcing."),
    per_domain: int = typer.Option(None, "--per-domain", min=1,
                                   help="Grade only the first N prompts of each domain."),
) -> None:
    """Offline difficulty: pass@k per prompt, written to <data>.difficulty.jsonl."""
    from rich.progress import Progress

    from thinkvl.model.factory import load_model, load_processor
    from thinkvl.model.settings import GenerationSettings
    from thinkvl.eval.heldout import first_per_domain
    from thinkvl.rl.data import load_prompts
    from thinkvl.rl.grade import grade

    from thinkvl.data.schema import RecordError

    try:
        total = len(first_per_domain(load_prompts(data), per_domain))
    except (RecordError, ValueError) as err:
        console.print(f"[red]cannot grade:[/] {escape(str(err))}", soft_wrap=True)
        raise typer.Exit(2) from None
    with Progress(console=console) as bar:
        task = bar.add_task(f"grading pass@{k}", total=total)
        sampled = GenerationSettings(temperature=1.0, think_budget=think_budget, answer_budget=answer_budget)
        summary = grade(load_model(model), load_processor(model), data, sampled, k=k, model_name=str(model),
                        progress=lambda n: bar.advance(task, n), per_domain=per_domain)
    console.print(json.dumps(summary, indent=1))
