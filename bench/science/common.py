"""What every experiment under ``bench/science/`` shares: one SFT model and one synthetic world,
RL arms started from that same checkpoint, one held-out protocol, paired intervals and output.

Why shared: the experiments compare *arms* (clean vs hackable reward, mixed vs single domain,
RLCS vs uniform, RL vs SFT, top-p/KL), so everything but the arm must be identical — the start
model, the world, the held-out records, the decoding used to measure, and the scorer (always the
*clean* default reward system, whatever an arm was trained with). Comparisons are paired on the
same held-out records (``thinkvl.eval.bootstrap.paired_bootstrap``), which keeps evaluation noise
shared by both arms out of the interval. Training-seed variance is not in those intervals; each
experiment says how many seeds it ran.

Runs are resumable and cached: an arm whose ``summary.json`` exists is read back, an evaluation
whose JSON exists is not redone, so an interrupted experiment continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
DOCS = ROOT / "docs" / "experiments"
DEFAULT_WORK = Path(os.environ.get("THINKVL_SCIENCE_WORK", "/tmp/sci"))


# --- the shared start: world + pre-training + SFT + offline grade (the demo's recipes) -----------

def base(work: Path = DEFAULT_WORK) -> tuple[Path, Path]:
    """(SFT model folder, world folder), built once under ``work/demo`` with the demo plan's
    synth → pre-train → SFT → grade stages (each skipped when already complete)."""
    from thinkvl.demo import DemoRun, load_plan

    run = DemoRun(work / "demo", load_plan())
    run._stage(1, "synth", (run.world / "manifest.json").exists(), run.synth)
    run._stage(2, "pretrain", run._final("pretrain"), lambda: run.supervised("pretrain"))
    run._stage(3, "sft", run._final("sft"), lambda: run.supervised("sft"))
    run._stage(4, "grade", (run.out / "grade.json").exists(), run.grade)
    return run.out / "sft" / "final", run.world


# --- RL arms -------------------------------------------------------------------------------------

def rl_config(model: Path, world: Path, out: Path, steps: int, seed: int, overrides: list[str],
              eval_per_domain: int | None = None):
    """The demo's RL recipe from ``model``; held-out evaluation inside the run only when
    ``eval_per_domain`` is given (most experiments evaluate final models themselves)."""
    from thinkvl.config import load_config
    from thinkvl.rl.config import RLConfig

    evals = ([f"data.eval={world / 'rl_eval.jsonl'}", f"data.eval_limit={eval_per_domain}"]
             if eval_per_domain else ["data.eval=null"])
    return load_config(RLConfig, "demo_rl", [
        f"model={model}", f"data.train={world / 'rl_train.jsonl'}", *evals, f"run.out={out}",
        f"rl.steps={steps}", f"run.seed={seed}", "run.save_every=0", "run.sinks=[jsonl]",
        "run.progress=false", *overrides])


def run_arm(cfg, log=print, resume: bool = False) -> dict:
    """Run (or read back) one RL arm; adds ``arm_wall_seconds``. ``resume``: continue the
    checkpoint already in ``run.out`` (an arm being extended to more steps)."""
    from thinkvl.rl.run import run_rl

    out = Path(cfg.run.out)
    if (out / "summary.json").exists():
        return json.loads((out / "summary.json").read_text())
    if out.exists() and not resume:  # half-finished, no checkpoint (save_every 0): start again
        import shutil

        shutil.rmtree(out)
    log(f"RL arm {out.name}: {cfg.rl.steps} steps")
    start = time.perf_counter()
    summary = run_rl(cfg, resume=resume)
    summary["arm_wall_seconds"] = time.perf_counter() - start
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


def reference_arm(model: Path, world: Path, work: Path, steps: int, seed: int, smoke: bool = False) -> Path:
    """The demo recipe unchanged (all domains, RLCS + EMA expansion, top-p 1, no KL), run once
    per (steps, seed) and shared: it is the clean arm of ``hackable_reward``, the mixed arm of
    ``mixed_vs_single``, the RL arm of ``rl_vs_sft`` and the baseline of ``topp_kl``. A longer
    one continues the longest finished shorter one from its final checkpoint (the lr is
    constant after warm-up, the curriculum and EMA state are in the checkpoint)."""
    arms = work / ("arms_smoke" if smoke else "arms")
    out = arms / f"reference_s{seed}_n{steps}"
    if (out / "summary.json").exists():
        return out
    shorter = sorted((int(p.name.rsplit("_n", 1)[1]), p) for p in arms.glob(f"reference_s{seed}_n*")
                     if (p / "summary.json").exists() and int(p.name.rsplit("_n", 1)[1]) < steps)
    if shorter:  # continue the longest shorter run from its final checkpoint instead of redoing it
        import shutil

        done, src = shorter[-1]
        shutil.copytree(src, out, dirs_exist_ok=False, ignore=shutil.ignore_patterns("summary.json", "heldout_*"))
        (out / "extended_from.json").write_text(json.dumps({"run": str(src), "steps": done}))
        run_arm(rl_config(model, world, out, steps, seed, []), resume=True)
    else:
        run_arm(rl_config(model, world, out, steps, seed, []))
    return out


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def metrics(run: Path) -> list[dict]:
    return read_jsonl(run / "metrics.jsonl")


def rollouts(run: Path) -> dict[int, list[dict]]:
    """Saved rollouts by step (``rollouts/step_*.jsonl``)."""
    return {int(p.stem.split("_")[1]): read_jsonl(p) for p in sorted((run / "rollouts").glob("step_*.jsonl"))}


# --- held-out evaluation (clean reward system, fixed decoding) -----------------------------------

def eval_settings(seed: int = 0):
    """The experiments' measuring decoding: the demo RL budgets (think 40 + answer 16 tokens),
    sampled draws at temperature 1.0 and top-p 1.0 whatever an arm trained with."""
    from thinkvl.model.settings import GenerationSettings

    return GenerationSettings(think_budget=40, answer_budget=16, temperature=1.0, top_p=1.0, seed=seed)


def heldout(model: Path, world: Path, per_domain: int, samples: int, cache: Path, seed: int = 0,
            domains: list[str] | None = None) -> dict:
    """Greedy (and ``samples`` sampled draws per record) think-mode accuracy of ``model`` on the
    first ``per_domain`` held-out records of each domain (of ``domains`` when given), scored by
    the default reward system; cached in ``cache``."""
    if cache.exists():
        return json.loads(cache.read_text())
    from thinkvl.eval.heldout import heldout_accuracy, heldout_records
    from thinkvl.model.factory import load_model, load_processor
    from thinkvl.rewards import RewardSystem

    records = heldout_records(world / "rl_eval.jsonl", per_domain)
    if domains:
        records = [r for r in records if r["domain"] in domains]
    start = time.perf_counter()
    with RewardSystem() as rewards:
        result = heldout_accuracy(load_model(str(model)).eval(), load_processor(str(model)), records,
                                  rewards, eval_settings(seed), batch_size=128, samples=samples)
    result["seconds"] = time.perf_counter() - start
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result))
    return result


def heldout_arms(model: Path, world: Path, args, arms: dict[str, Path]) -> dict[str, dict]:
    """Held-out results of the SFT start (``"sft"``) and of each arm's final model, at ``args``'
    eval sizes, cached beside each run (``heldout_PER_SAMPLES.json``)."""
    tag = f"{args.eval_per_domain}_{args.eval_samples}"
    evals = {"sft": heldout(model, world, args.eval_per_domain, args.eval_samples,
                            args.work / "evals" / f"sft_{tag}.json")}
    for arm, run in arms.items():
        evals[arm] = heldout(run / "final", world, args.eval_per_domain, args.eval_samples,
                             run / f"heldout_{tag}.json")
    return evals


def values(result: dict, mode: str) -> dict[str, dict[str, float]]:
    """Per-record values of an evaluation: ``greedy`` (0/1) or ``sampled`` (mean of draws)."""
    return result["records"] if mode == "greedy" else result["sampled"]["records"]


def paired(a: dict, b: dict, mode: str = "sampled", domains: list[str] | None = None,
           seed: int = 0) -> dict:
    """``b − a`` with paired bootstrap 95% intervals: per domain and the mean over ``domains``."""
    from thinkvl.eval.bootstrap import paired_bootstrap

    va, vb = values(a, mode), values(b, mode)
    names = sorted(domains or set(va) & set(vb))
    out = {d: paired_bootstrap({d: va[d]}, {d: vb[d]}, seed=seed) for d in names}
    out["mean"] = paired_bootstrap({d: va[d] for d in names}, {d: vb[d] for d in names}, seed=seed)
    return out


def accuracy(result: dict, mode: str = "sampled") -> dict[str, float]:
    acc = dict(result["accuracy"] if mode == "greedy" else result["sampled"]["accuracy"])
    acc["mean"] = sum(acc.values()) / max(1, len(acc))
    return acc


def ci(c: dict, scale: float = 100.0) -> str:
    """'+1.2 [−0.5, +2.9]' in points."""
    return f"{scale * c['delta']:+.1f} [{scale * c['low']:+.1f}, {scale * c['high']:+.1f}]"


# --- the command line every experiment shares ----------------------------------------------------

SMOKE = {"steps": 3, "eval_per_domain": 4, "eval_samples": 1}  # --smoke: plumbing only


def parser(doc: str, *, steps: int, eval_per_domain: int, eval_samples: int,
           seed: bool = True, steps_help: str = "RL steps per arm") -> argparse.ArgumentParser:
    """--work, --steps, --seed, --eval-per-domain, --eval-samples and --smoke, with this
    experiment's defaults; the experiment adds its own options."""
    p = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    p.add_argument("--work", type=Path, default=DEFAULT_WORK, help="shared start model, arms, caches")
    p.add_argument("--steps", type=int, default=steps, help=steps_help)
    if seed:
        p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-per-domain", type=int, default=eval_per_domain)
    p.add_argument("--eval-samples", type=int, default=eval_samples)
    p.add_argument("--smoke", action="store_true", help="3 steps, 4 records per domain: plumbing only")
    return p


def prepare(args: argparse.Namespace, name: str, **smoke: Any) -> tuple[Path, Path]:
    """Shrink a ``--smoke`` run to ``SMOKE`` sizes (and ``smoke``'s); the experiment's work folder
    and its output folder (``docs/experiments/NAME``; a smoke run writes under its work folder)."""
    if args.smoke:
        for key, value in {**SMOKE, **smoke}.items():
            setattr(args, key, value)
    work = args.work / (name + ("_smoke" if args.smoke else ""))
    folder = work / "docs" if args.smoke else outputs(name)
    folder.mkdir(parents=True, exist_ok=True)
    return work, folder


def publish(name: str, result: dict, summary_md: str, folder: Path, smoke: bool) -> None:
    """Write the result and its page (``save``; a smoke run's stay in its own folder) and print it."""
    if smoke:
        (folder / "result.json").write_text(json.dumps(result, indent=1, default=str))
        (folder / "README.md").write_text(summary_md)
    else:
        save(name, result, summary_md)
    print(summary_md)


def run_facts(runs: dict[str, Path]) -> dict[str, dict]:
    """Steps, rollouts and times of each finished arm (its ``summary.json``), for ``result.json``."""
    keys = ("steps", "rollouts", "train_seconds", "arm_wall_seconds")
    return {arm: {k: json.loads((run / "summary.json").read_text()).get(k) for k in keys}
            for arm, run in runs.items()}


def domain_bars(ax, evals: dict[str, dict], domains: list[str], ylabel: str, title: str,
                mode: str = "sampled") -> None:
    """Grouped bars: held-out accuracy per domain (and the mean) of each model in ``evals``."""
    width = 0.8 / len(evals)
    for i, (arm, res) in enumerate(evals.items()):
        acc = accuracy(res, mode)
        ax.bar([j + (i - (len(evals) - 1) / 2) * width for j in range(len(domains) + 1)],
               [100 * acc[d] for d in [*domains, "mean"]], width, label=arm)
    ax.set_xticks(range(len(domains) + 1), [*domains, "mean"], rotation=30)
    ax.set(ylabel=ylabel, title=title)
    ax.legend(fontsize=7)


# --- outputs --------------------------------------------------------------------------------------

def environment() -> dict[str, Any]:
    """Where and on what the numbers were measured (a shared 2-core box makes wall times noisy)."""
    import torch

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return {"commit": commit, "python": platform.python_version(), "torch": torch.__version__,
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "load_average_at_end": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M")}


def outputs(name: str) -> Path:
    folder = DOCS / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


FINDINGS = "<!-- findings: written by a person; kept when the experiment regenerates this page -->"
FINDINGS_END = "<!-- end of findings -->"


def save(name: str, result: dict, summary_md: str) -> Path:
    """Write ``docs/experiments/NAME/result.json`` and ``README.md``; a hand-written findings
    section (between the ``FINDINGS`` markers) of an existing README is carried over, so rerunning
    an experiment refreshes its numbers without deleting what someone concluded from them."""
    folder = outputs(name)
    result = {**result, "environment": environment()}
    (folder / "result.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    readme = folder / "README.md"
    notes = ""
    old = readme.read_text() if readme.exists() else ""
    if FINDINGS in old and FINDINGS_END in old:
        notes = FINDINGS + old.split(FINDINGS, 1)[1].split(FINDINGS_END, 1)[0] + FINDINGS_END
    title, _, body = summary_md.strip().partition("\n")
    text = f"{title}\n\n{notes.strip()}\n\n{body.strip()}" if notes else summary_md.strip()
    readme.write_text(text + "\n")
    return folder


def figure(rows: int = 1, cols: int = 1, size: tuple[float, float] = (6.0, 4.0)):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    return fig, axes


def save_figure(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)


def smooth(xs: list[float], k: int = 5) -> list[float]:
    """Trailing moving average (per-step rollout statistics are noisy at 32 prompts a step)."""
    out = []
    for i in range(len(xs)):
        window = xs[max(0, i - k + 1): i + 1]
        out.append(sum(window) / len(window))
    return out
