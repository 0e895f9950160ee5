"""`thinkvl eval --model M --bench B[,B…]` evaluates; `eval serve` serves a model over an
OpenAI-compatible API; `eval compare RUN…` sets runs side by side. Extra ``section.key=value``
arguments override the recipe (``generation.think_budget=1024``)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from thinkvl.commands.overrides import OverridesGroup

console = Console()


app = typer.Typer(cls=OverridesGroup, invoke_without_command=True, no_args_is_help=False,
                  help="Evaluate models on benchmarks (think/direct; HF, vLLM or a server).")


@app.callback()
def eval_command(
    ctx: typer.Context,
    model: str = typer.Option(None, "--model", "-m",
                              help="Model folder, or a server URL (http://HOST:PORT/v1)."),
    bench: str = typer.Option(None, "--bench", "-b",
                              help="Benchmarks, comma-separated: NAME:PATH in the benchmark's "
                                   "published layout (mmmu, mathvista, ocrbench, videomme, … "
                                   "see the README's table), NAME under --data-root, or the "
                                   "path of a thinkvl records file."),
    mode: str = typer.Option(None, "--mode",
                             help="think, direct or both (default: the recipe's, both). Models "
                                  "without a hybrid mode: direct.style=instruction."),
    backend: str = typer.Option(None, "--backend",
                                help="hf, vllm or openai (default: hf; URLs use openai)."),
    out: Path = typer.Option(None, "--out", "-o",
                             help="Run folder (predictions, results.json, results.md)."),
    config: Path = typer.Option(None, "--config", "-c",
                                help="Eval recipe YAML (e.g. configs/eval.yaml)."),
    data_root: Path = typer.Option(None, "--data-root",
                                   help="Folder holding benchmarks named without a path."),
    limit: int = typer.Option(None, "--limit", min=1,
                              help="Only the first N items of each benchmark."),
    model_id: str = typer.Option(None, "--model-id",
                                 help="Name predictions are keyed by (default: a hash of the "
                                      "weights, or the URL and served model)."),
) -> None:
    """Evaluate a model; a rerun with the same --out resumes and skips finished samples."""
    if ctx.invoked_subcommand is not None:
        return
    if model is None:
        console.print(ctx.get_help())
        raise typer.Exit(2)
    from thinkvl.config import ConfigError
    from thinkvl.eval.config import load_eval_config
    from thinkvl.eval.report import modes_side_by_side, results_table
    from thinkvl.eval.runner import iter_modes, run_config

    overrides = list(ctx.meta.get("overrides", []))
    try:
        cfg = load_eval_config(str(config) if config else None, overrides)
        if bench:
            cfg.benches = [b.strip() for b in bench.split(",") if b.strip()]
        if mode:
            if mode not in ("think", "direct", "both"):
                raise typer.BadParameter("expected think, direct or both", param_hint="--mode")
            cfg.modes = list(iter_modes(mode))
        if backend:
            cfg.backend.name = backend
        if out:
            cfg.out = str(out)
        if data_root:
            cfg.data_root = str(data_root)
        if limit:
            cfg.limit = limit
    except (ConfigError, ValueError) as err:
        console.print(f"[red]config error:[/] {err}")
        raise typer.Exit(2) from None
    try:
        results = run_config(cfg, model, model_id=model_id)
    except (FileNotFoundError, ValueError) as err:
        console.print(f"[red]error:[/] {err}")
        raise typer.Exit(1) from None
    if not results:  # a data-parallel rank other than 0: rank 0 reports
        return
    dicts = [r.to_dict() for r in results]
    console.print(results_table(dicts))
    side = modes_side_by_side(dicts)
    if side:
        console.print(side)
    made = sum(r.generated for r in results)
    console.print(f"[green]wrote[/] {cfg.out}/results.json and results.md "
                  f"({made} new predictions, the rest reused)")


@app.command("serve")
def serve_command(
    model: Path = typer.Option(..., "--model", "-m", help="A Hugging Face model folder."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    name: str = typer.Option(None, "--name", help="Served model name (default: the folder name)."),
) -> None:
    """Serve a local model over an OpenAI-compatible chat-completions API (CPU is fine)."""
    from thinkvl.eval.serve import serve_forever

    serve_forever(model, host, port, name)


@app.command("compare")
def compare_command(
    runs: list[Path] = typer.Argument(..., help="Run folders (each with results.json)."),
    label: list[str] = typer.Option(None, "--label", help="Column label per run (repeat)."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the Markdown here too."),
) -> None:
    """Runs side by side (models or modes) with the settings that produced them."""
    from thinkvl.eval.report import compare

    try:
        text = compare(list(runs), list(label) if label else None)
    except (FileNotFoundError, ValueError) as err:
        console.print(f"[red]error:[/] {err}")
        raise typer.Exit(1) from None
    if out:
        out.write_text(text)
    console.print(text)
