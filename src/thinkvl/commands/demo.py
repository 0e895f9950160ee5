"""`thinkvl demo`: the whole pipeline on a laptop — synthesise, pre-train, SFT, RL (with held-out
accuracy before and after), report. Each stage's folder is reused when it is already complete."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.console import Console

console = Console()
CONFIGS = Path(__file__).resolve().parents[3] / "configs"


def _timed(summary: dict, name: str, fn):
    console.rule(f"[bold]{name}")
    start = time.perf_counter()
    result = fn()
    summary["stages"][name] = {"seconds": round(time.perf_counter() - start, 1)}
    return result


def demo_command(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Run folder of the demo."),
    quick: bool = typer.Option(False, "--quick", help="Smaller budgets (CI smoke run)."),
    per_domain: int = typer.Option(None, help="RL prompts per synthetic domain."),
) -> None:
    """Run synth → pretrain → SFT → RL → report on the tiny model and write summary.json."""
    from thinkvl.config import load_config
    from thinkvl.data.synthetic import generate_world
    from thinkvl.report import build_report
    from thinkvl.rewards.audit import run_audit
    from thinkvl.rl.config import RLConfig
    from thinkvl.rl.run import run_rl
    from thinkvl.train.pretrain import load_pretrain_config, run_pretrain
    from thinkvl.train.sft import load_sft_config, run_sft

    n = per_domain or (48 if quick else 300)
    scale = 0.25 if quick else 1.0
    world = out / "world"
    summary: dict = {"stages": {}, "quick": quick}
    if not (world / "manifest.json").exists():
        _timed(summary, "synth", lambda: generate_world(world, per_domain=n, seed=0, progress=True))

    def stage(loader, runner, name, yaml, model, data, steps):
        folder = out / name
        if (folder / "final" / "config.json").exists():
            return folder / "final"
        cfg = loader(CONFIGS / yaml, [f"model.path={model}", f"data.train={data}", f"run.out={folder}",
                                      f"train.steps={max(5, int(steps * scale))}"])
        return _timed(summary, name, lambda: runner(cfg, resume=(folder / "checkpoints").exists()))

    pre = stage(load_pretrain_config, run_pretrain, "pretrain", "demo_pretrain.yaml", out / "init",
                world / "pretrain.jsonl", 60)
    sft = stage(load_sft_config, run_sft, "sft", "demo_sft.yaml", pre, world / "sft.jsonl", 150)
    rl_cfg = load_config(RLConfig, CONFIGS / "demo_rl.yaml", [
        f"model={sft}", f"data.train={world / 'rl_train.jsonl'}", f"data.eval={world / 'rl_eval.jsonl'}",
        f"data.eval_limit={8 if quick else 24}", f"run.out={out / 'rl'}",
        f"rl.steps={4 if quick else 30}"])
    rl = _timed(summary, "rl", lambda: run_rl(rl_cfg, resume=(out / "rl" / "checkpoints").exists()))
    audit = run_audit()
    summary["audit"] = {"passed": audit.passed, "hackable": sorted({r.domain for r in audit.hackable})}
    summary["accuracy"] = {"sft": (rl["eval_before"] or {}).get("accuracy"),
                           "rl": (rl["eval_after"] or {}).get("accuracy")}
    summary["rl"] = {k: rl[k] for k in ("steps", "rollouts", "tokens_generated", "final_expansion")}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    page = build_report(out)
    console.print(f"[green]demo finished[/]: {out / 'summary.json'}, report {page}")
