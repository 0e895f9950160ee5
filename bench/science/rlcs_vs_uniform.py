"""RLCS + EMA dynamic sampling vs uniform sampling: rollouts to reach a held-out target.

Two arms from the same SFT model, seed, data, budgets and optimiser; only the sampler differs:
- **rlcs**: curriculum tiers (offline pass@k grade + online pass-rate EMA) and dynamic sampling
  with EMA expansion (draw ``prompts_per_step × expansion`` prompts, keep the groups with signal,
  most balanced first) — the report's RLCS, the demo recipe;
- **uniform**: ``curriculum.enabled=false dynamic.enabled=false``: prompts drawn uniformly within
  the same domain quotas, every group kept (groups without signal have zero advantage and only
  dilute the per-sample mean).

Dynamic sampling spends more rollouts per step, so the arms are compared per **rollout**: the
uniform arm runs as many steps as it takes to generate as many rollouts as the rlcs arm did.
Held-out accuracy (the first ``--eval-per-domain`` records of each domain, ``--eval-samples``
draws at temperature 1 / top-p 1, plus greedy, default reward system) is measured inside each run
every ``--eval-every`` steps; the target is the SFT model's sampled accuracy + ``--gain``. Each
point's interval is a paired bootstrap 95% interval against the SFT evaluation (same records).

Replaces the older ``bench/rlcs_vs_uniform.py`` (equal steps, greedy only, no intervals).

    python bench/science/rlcs_vs_uniform.py --steps 50 --eval-every 10
    python bench/science/rlcs_vs_uniform.py --smoke
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

NAME = "rlcs_vs_uniform"
ARMS = {"rlcs": ["curriculum.enabled=true", "dynamic.enabled=true"],
        "uniform": ["curriculum.enabled=false", "dynamic.enabled=false"]}


def curve(run: Path) -> list[dict]:
    """(step, cumulative rollouts, sampled and greedy mean accuracy, paired CI vs step 0)."""
    s = json.loads((run / "summary.json").read_text())
    rollouts = {0: 0, **{m["step"]: m["totals"]["rollouts"] for m in C.metrics(run)}}
    points = {0: s["eval_before"], **{int(k): v for k, v in s["evals"].items() if v}, s["steps"]: s["eval_after"]}
    out = []
    for step, ev in sorted(points.items()):
        out.append({"step": step, "rollouts": rollouts[step], "sampled": ev["sampled"]["mean_accuracy"],
                    "greedy": ev["mean_accuracy"],
                    "vs_sft": C.paired(s["eval_before"], ev, "sampled")["mean"] if step else None})
    return out


def signal(run: Path) -> dict:
    m = C.metrics(run)
    return {"groups_with_signal": 1 - sum(x["invalid_rate"] for x in m) / len(m),
            "samples_trained_per_step": sum(x["samples_trained"] for x in m) / len(m),
            "rollouts_per_step": m[-1]["totals"]["rollouts"] / len(m),
            "final_expansion": m[-1]["expansion"]}


def matched_points(runs: dict[str, Path]) -> list[dict]:
    """rlcs at each of its evaluations vs uniform at its first evaluation with at least as many
    rollouts (a comparison that gives uniform the benefit of any rollout difference): paired
    intervals of rlcs − uniform on the same held-out records."""
    def points(run: Path) -> list[tuple[int, int, dict]]:
        s = json.loads((run / "summary.json").read_text())
        rollouts = {m["step"]: m["totals"]["rollouts"] for m in C.metrics(run)}
        evals = {**{int(k): v for k, v in s["evals"].items() if v}, s["steps"]: s["eval_after"]}
        return [(step, rollouts[step], ev) for step, ev in sorted(evals.items())]

    out = []
    uniform = points(runs["uniform"])
    for step, n, ev in points(runs["rlcs"]):
        match = next(((u_step, u_n, u_ev) for u_step, u_n, u_ev in uniform if u_n >= n), None)
        if match:
            out.append({"rlcs_step": step, "rlcs_rollouts": n, "uniform_step": match[0], "uniform_rollouts": match[1],
                        **{m: C.paired(match[2], ev, m)["mean"] for m in ("greedy", "sampled")}})
    return out


def first_reach(points: list[dict], target: float) -> dict:
    hit = next((p for p in points if p["sampled"] >= target and p["step"] > 0), None)
    return {"step": hit["step"], "rollouts": hit["rollouts"]} if hit else {"step": None, "rollouts": None}


def plot(folder: Path, curves: dict, target: float) -> None:
    fig, ax = C.figure(1, 1, (6.5, 4.0))
    for arm, pts in curves.items():
        xs = [p["rollouts"] for p in pts]
        ys = [100 * p["sampled"] for p in pts]
        lo = [100 * (pts[0]["sampled"] + p["vs_sft"]["low"]) if p["vs_sft"] else ys[0] for p in pts]
        hi = [100 * (pts[0]["sampled"] + p["vs_sft"]["high"]) if p["vs_sft"] else ys[0] for p in pts]
        ax[0][0].plot(xs, ys, marker="o", label=arm)
        ax[0][0].fill_between(xs, lo, hi, alpha=0.15)
    ax[0][0].axhline(100 * target, color="grey", ls=":", label="target")
    ax[0][0].set(xlabel="rollouts generated", ylabel="held-out accuracy, sampled (%)",
                 title="RLCS + dynamic sampling vs uniform (band: paired 95% vs SFT)")
    ax[0][0].legend(fontsize=8)
    C.save_figure(fig, folder / "rlcs_vs_uniform.png")


def main() -> int:
    p = C.parser(__doc__, steps=50, eval_per_domain=48, eval_samples=2, steps_help="steps of the rlcs arm")
    p.add_argument("--eval-every", type=int, default=10)
    p.add_argument("--gain", type=float, default=0.02, help="target = SFT sampled accuracy + gain")
    p.add_argument("--uniform-steps", type=int, default=None,
                   help="cap the uniform arm (default: as many steps as match the rlcs arm's rollouts)")
    args = p.parse_args()
    work, folder = C.prepare(args, NAME, steps=2, eval_every=1)
    started = time.perf_counter()
    model, world = C.base(args.work)

    def arm(name: str, steps: int) -> Path:
        out = work / name
        C.run_arm(C.rl_config(model, world, out, steps, args.seed,
                              [*ARMS[name], f"run.eval_every={args.eval_every}", f"run.eval_samples={args.eval_samples}"],
                              eval_per_domain=args.eval_per_domain))
        return out

    runs = {"rlcs": arm("rlcs", args.steps)}
    rollouts = json.loads((runs["rlcs"] / "summary.json").read_text())["rollouts"]
    per_step = 32 * 8  # uniform: prompts_per_step × group_size, every step
    matched_steps = math.ceil(rollouts / per_step)
    uniform_steps = min(matched_steps, args.uniform_steps or matched_steps)
    runs["uniform"] = arm("uniform", uniform_steps)
    curves = {name: curve(run) for name, run in runs.items()}
    sft = curves["rlcs"][0]["sampled"]
    target = sft + args.gain
    finals = {n: json.loads((r / "summary.json").read_text())["eval_after"] for n, r in runs.items()}
    result = {"name": NAME, "seed": args.seed, "rlcs_steps": args.steps, "uniform_steps": uniform_steps,
              "rollout_matched_uniform_steps": matched_steps,
              "at_least_as_many_rollouts": matched_points(runs),
              "eval": {"per_domain": args.eval_per_domain, "samples": args.eval_samples, "every": args.eval_every},
              "sft_sampled": sft, "target": target, "gain": args.gain, "curves": curves,
              "reached": {n: first_reach(c, target) for n, c in curves.items()},
              "signal": {n: signal(r) for n, r in runs.items()},
              "rlcs_minus_uniform_final": {m: C.paired(finals["uniform"], finals["rlcs"], m)["mean"]
                                           for m in ("greedy", "sampled")},
              "runs": C.run_facts(runs),
              "wall_seconds": time.perf_counter() - started}
    plot(folder, curves, target)
    md = summary(result)
    C.publish(NAME, result, md, folder, args.smoke)
    return 0


def summary(r: dict) -> str:
    rows = []
    for n, pts in r["curves"].items():
        last, sig, reach = pts[-1], r["signal"][n], r["reached"][n]
        rows.append(f"| {n} | {r['runs'][n]['steps']} | {r['runs'][n]['rollouts']} | "
                    f"{reach['rollouts'] if reach['rollouts'] is not None else 'not reached'} | "
                    f"{100 * last['sampled']:.1f} | {C.ci(last['vs_sft'])} | {100 * sig['groups_with_signal']:.0f} | "
                    f"{sig['samples_trained_per_step']:.0f} | {r['runs'][n]['train_seconds'] / 60:.1f} |")
    points = "\n".join(f"| {n} | {p['step']} | {p['rollouts']} | {100 * p['sampled']:.1f} | {100 * p['greedy']:.1f} | "
                       f"{C.ci(p['vs_sft']) if p['vs_sft'] else '—'} |" for n, pts in r["curves"].items() for p in pts)
    d = r["rlcs_minus_uniform_final"]
    runs = r["runs"]
    matched = "\n".join(f"| {m['rlcs_step']} ({m['rlcs_rollouts']}) | {m['uniform_step']} ({m['uniform_rollouts']}) | "
                        f"{C.ci(m['sampled'])} | {C.ci(m['greedy'])} |" for m in r["at_least_as_many_rollouts"])
    cut = (f" **Cut short for time**: the uniform arm ran {r['uniform_steps']} steps, not the "
           f"{r['rollout_matched_uniform_steps']} that match the rlcs arm's rollouts, so the arms' final models are "
           f"not at equal rollouts; the table after the main one compares them where they are."
           if r["uniform_steps"] < r["rollout_matched_uniform_steps"] else "")
    return f"""# RLCS + EMA dynamic sampling vs uniform

Command: `python bench/science/rlcs_vs_uniform.py --steps {r['rlcs_steps']} --eval-every {r['eval']['every']} --eval-per-domain {r['eval']['per_domain']} --eval-samples {r['eval']['samples']} --gain {r['gain']}{f" --uniform-steps {r['uniform_steps']}" if r['uniform_steps'] < r['rollout_matched_uniform_steps'] else ""} --seed {r['seed']}`
— {r['wall_seconds'] / 60:.0f} min wall for this invocation on a shared 2-core CPU box (arms already run are read back;
measured arm wall times, in-run evaluations included: {', '.join(f"{n} {(v.get('arm_wall_seconds') or 0) / 60:.1f} min" for n, v in runs.items())}). One training seed. Held-out: {r['eval']['per_domain']} records per
domain, {r['eval']['samples']} sampled draws (temperature 1, top-p 1) + greedy, every {r['eval']['every']} steps; intervals are paired
bootstrap 95% over records against the SFT evaluation. Rollout-matched, the uniform arm runs until it has
generated as many rollouts as the rlcs arm ({r['rollout_matched_uniform_steps']} steps of 256).{cut}

Target: SFT sampled accuracy {100 * r['sft_sampled']:.1f}% + {100 * r['gain']:.0f} points = **{100 * r['target']:.1f}%**.

| arm | steps | rollouts | rollouts to target | final sampled % | − SFT [95%] | groups with signal % | samples trained / step | train min |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

Final models, rlcs ({runs['rlcs']['rollouts']} rollouts) − uniform ({runs['uniform']['rollouts']} rollouts): sampled {C.ci(d['sampled'])}, greedy {C.ci(d['greedy'])} points.

rlcs at each evaluation − uniform at its first evaluation with at least as many rollouts (paired 95%):

| rlcs step (rollouts) | uniform step (rollouts) | rlcs − uniform, sampled | greedy |
|---|---|---:|---:|
{matched}

![accuracy per rollout](rlcs_vs_uniform.png)

Every evaluation:

| arm | step | rollouts | sampled % | greedy % | sampled − SFT [95%] |
|---|---:|---:|---:|---:|---:|
{points}
"""


if __name__ == "__main__":
    raise SystemExit(main())
