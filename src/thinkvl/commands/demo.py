"""`thinkvl demo`: the whole pipeline on a laptop (see thinkvl.demo.pipeline)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def _table(summary: dict) -> Table:
    acc, direct = summary.get("accuracy") or {}, summary.get("direct") or {}
    table = Table(title="held-out accuracy (greedy)")
    for col in ("domain", "SFT think", "RL think", "SFT direct", "RL direct"):
        table.add_column(col, justify="left" if col == "domain" else "right")
    domains = sorted(set(acc.get("sft") or {}) | set(acc.get("rl") or {}))

    def cell(part: dict | None, d: str) -> str:
        return f"{part[d]:.2f}" if part and d in part else "-"

    for d in domains:
        table.add_row(d, cell(acc.get("sft"), d), cell(acc.get("rl"), d),
                      cell(direct.get("sft"), d), cell(direct.get("rl"), d))
    means = summary.get("mean_accuracy") or {}
    if means.get("sft") is not None:
        table.add_row("mean", f"{means['sft']:.3f}", f"{means['rl']:.3f}", "", "", style="bold")
    return table


def demo_command(
    overrides: list[str] = typer.Argument(None, show_default=False,
                                          help="Plan overrides such as rl.steps=40 world.per_domain=500."),
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Run folder of the demo."),
    quick: bool = typer.Option(False, "--quick", help="Small budgets (CI smoke run, ≤ 3 minutes)."),
    config: str = typer.Option("demo", "--config", "-c",
                               help="Demo plan YAML, or the name of a shipped one."),
    redo: str = typer.Option("", "--redo", help="Rerun these stages and all later ones "
                             "(comma-separated: synth,pretrain,sft,grade,rl,eval,audit,report)."),
) -> None:
    """Synthesise → pre-train → SFT → grade → RL → evaluate (think and direct) → report.

    Extra KEY=VALUE arguments override the plan, e.g. `thinkvl demo rl.steps=40`. A rerun skips
    finished stages and resumes an interrupted one from its last checkpoint."""
    from thinkvl.config import ConfigError
    from thinkvl.demo.pipeline import DemoRun
    from thinkvl.demo.plan import load_plan

    try:
        plan = load_plan(config, quick=quick, overrides=overrides or [])
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    run = DemoRun(out, plan, console)
    try:
        run.redo([s.strip() for s in redo.split(",") if s.strip()])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--redo") from None
    run.summary["quick"] = quick
    from thinkvl.rl.preflight import PreflightError

    try:
        summary = run.run()
    except PreflightError as err:  # stages before RL are kept; rerun continues from them
        console.print(f"[red]RL pre-flight check failed:[/] {err}\n"
                      f"Earlier stages are kept in {out}; raise sft.steps and rerun with --redo sft.")
        raise typer.Exit(1) from None
    console.print(_table(summary))
    for mode, ci in (summary.get("heldout_gain") or {}).items():
        if ci:
            console.print(f"held-out change, {mode}: {ci['delta']:+.3f} (paired bootstrap 95%: "
                          f"{ci['low']:+.3f} to {ci['high']:+.3f}, {ci['records']} records)")
    rl = summary.get("rl") or {}
    console.print(f"RL: {rl.get('steps')} steps, {rl.get('rollouts')} rollouts, "
                  f"{rl.get('tokens_generated')} tokens generated; expansion {rl.get('final_expansion')}")
    for name, check in summary["checks"].items():
        mark = "[green]passed[/]" if check["passed"] else "[red]FAILED[/]"
        console.print(f"check {name}: {mark} {({k: v for k, v in check.items() if k != 'passed'})}")
    console.print(f"summary {out / 'summary.json'} · report {summary['stages']['report']['page']}")
    if not summary["passed"] and plan.checks.enforce:
        raise typer.Exit(1)
