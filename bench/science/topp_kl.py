"""top-p 1.0 vs 0.9, and KL vs no KL, over a longer RL run: accuracy and the rollouts' health.

The report keeps top-p at 1.0 (top-p < 1 garbled the outputs late in training: tokens outside
the nucleus are never sampled, so RL never pushes them down, and their probability drifts) and
drops the KL term (it limited gains). Three arms from the same SFT model, seed and budgets:
- **reference**: the demo recipe (top-p 1.0, no KL) — the shared reference arm, continued from
  its 80-step checkpoint to the longer length when one exists;
- **top_p_0.9**: ``rollout.top_p=0.9`` (everything else equal);
- **kl**: ``rl.kl_coef`` > 0 against the frozen SFT model (k3 estimator).

Per step, from ``metrics.jsonl``: format-error rate and truncation rate (all domains), mean
response tokens, the policy's entropy on its own rollouts and (KL arm) the KL to SFT. At the end:
held-out accuracy of each final model, measured the same way for all (temperature 1.0 and
**top-p 1.0**, plus greedy), with its invalid-answer rate: a policy trained with top-p 0.9 is
judged on the whole distribution it has learned, which is where garbling would show.

    python bench/science/topp_kl.py --steps 120        # three arms of 120 steps
                                                       # (64 held-out records a domain, 2 draws)
    python bench/science/topp_kl.py --smoke
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

NAME = "topp_kl"


def health(run: Path) -> list[dict]:
    """Per-step rollout health over all domains (rollout-weighted); the KL to SFT only where the
    arm computed it (``rl.kl_coef`` > 0: no reference model is loaded otherwise)."""
    import yaml

    kl_on = (yaml.safe_load((run / "config.yaml").read_text())["rl"].get("kl_coef") or 0) > 0
    rows = []
    for m in C.metrics(run):
        doms = m["domains"]
        n = sum(d["groups"] for d in doms.values()) or 1
        mean = lambda key: sum(d[key] * d["groups"] for d in doms.values()) / n  # noqa: E731
        rows.append({"step": m["step"], "format_error_rate": mean("format_error_rate"),
                     "truncated_rate": mean("truncated_rate"), "force_answer_rate": m["force_answer_rate"],
                     "response_tokens": m["response_tokens"], "entropy": m.get("entropy"),
                     "kl": m.get("kl") if kl_on else None, "accuracy": m["accuracy"], "reward": m["reward"]})
    return rows


def plots(folder: Path, curves: dict, evals: dict) -> None:
    keys = [("accuracy", "rollout accuracy"), ("format_error_rate", "format-error rate"),
            ("response_tokens", "response tokens"), ("entropy", "entropy (nats/token)")]
    fig, ax = C.figure(2, 2, (5.5, 3.6))
    for i, (key, label) in enumerate(keys):
        a = ax[i // 2][i % 2]
        for arm, rows in curves.items():
            ys = [r[key] for r in rows]
            if all(y is not None for y in ys):
                a.plot([r["step"] for r in rows], C.smooth(ys, 10), label=arm)
        a.set(xlabel="RL step", ylabel=label, title=f"{label} (10-step mean)")
        a.legend(fontsize=7)
    C.save_figure(fig, folder / "health.png")
    fig, ax = C.figure(1, 1, (6.5, 4.0))
    C.domain_bars(ax[0][0], evals, sorted(evals["sft"]["accuracy"]),
                  "held-out accuracy, sampled top-p 1.0 (%)", "Final models")
    C.save_figure(fig, folder / "heldout.png")


def main() -> int:
    p = C.parser(__doc__, steps=120, eval_per_domain=64, eval_samples=2)
    p.add_argument("--top-p", type=float, default=0.9)
    p.add_argument("--kl-coef", type=float, default=0.1)
    p.add_argument("--arms", nargs="+", choices=["top_p", "kl"], default=["top_p", "kl"],
                   help="which arms besides the reference to run (finished arms are read back)")
    args = p.parse_args()
    work, folder = C.prepare(args, NAME)
    started = time.perf_counter()
    model, world = C.base(args.work)
    arms = {"reference": C.reference_arm(model, world, args.work, args.steps, args.seed, args.smoke)}
    variants = {"top_p": (f"top_p_{args.top_p}", f"rollout.top_p={args.top_p}"),
                "kl": (f"kl_{args.kl_coef}", f"rl.kl_coef={args.kl_coef}")}
    for key in args.arms:  # one at a time fits a short budget; a later run adds the other
        name, override = variants[key]
        arms[name] = work / name
        C.run_arm(C.rl_config(model, world, arms[name], args.steps, args.seed, [override]))
    curves = {arm: health(run) for arm, run in arms.items()}
    evals = C.heldout_arms(model, world, args, arms)
    domains = sorted(evals["sft"]["accuracy"])
    compare = {arm: {mode: C.paired(evals["reference"], evals[arm], mode, domains)["mean"]
                     for mode in ("greedy", "sampled")} for arm in arms if arm != "reference"}
    vs_sft = {arm: {mode: C.paired(evals["sft"], evals[arm], mode, domains)["mean"]
                    for mode in ("greedy", "sampled")} for arm in arms}
    q = max(1, args.steps // 4)
    phases = {arm: {"first_quarter": {k: _mean(rows[:q], k) for k in rows[0] if k != "step"},
                    "last_quarter": {k: _mean(rows[-q:], k) for k in rows[0] if k != "step"}}
              for arm, rows in curves.items()}
    invalid = {arm: sum(e["invalid_rate"].values()) / len(e["invalid_rate"]) for arm, e in evals.items()}
    result = {"name": NAME, "seed": args.seed, "steps": args.steps, "top_p": args.top_p, "kl_coef": args.kl_coef,
              "arms": args.arms,
              "eval": {"per_domain": args.eval_per_domain, "samples": args.eval_samples,
                       "decoding": C.eval_settings().model_dump()},
              "runs": C.run_facts(arms),
              "curves": curves, "phases": phases, "greedy_invalid_rate": invalid,
              "accuracy": {a: {m: C.accuracy(e, m) for m in ("greedy", "sampled")} for a, e in evals.items()},
              "arm_minus_reference": compare, "arm_minus_sft": vs_sft,
              "wall_seconds": time.perf_counter() - started}
    plots(folder, curves, evals)
    md = summary(result)
    C.publish(NAME, result, md, folder, args.smoke)
    return 0


def _mean(rows: list[dict], key: str) -> float | None:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return sum(vals) / len(vals) if vals else None


def _f(x: float | None, scale: float = 1.0, fmt: str = ".2f") -> str:
    return "—" if x is None else format(scale * x, fmt)


def summary(r: dict) -> str:
    lines = []
    for arm, ph in r["phases"].items():
        a, b = ph["first_quarter"], ph["last_quarter"]
        lines.append(f"| {arm} | {_f(a['format_error_rate'], 100, '.1f')} → {_f(b['format_error_rate'], 100, '.1f')} | "
                     f"{_f(a['response_tokens'], 1, '.1f')} → {_f(b['response_tokens'], 1, '.1f')} | "
                     f"{_f(a['entropy'])} → {_f(b['entropy'])} | {_f(a['accuracy'], 100, '.1f')} → "
                     f"{_f(b['accuracy'], 100, '.1f')} | {_f(b['kl'], 1, '.4f')} |")
    acc = "\n".join(
        f"| {arm} | {100 * r['accuracy'][arm]['sampled']['mean']:.1f} | {100 * r['accuracy'][arm]['greedy']['mean']:.1f} | "
        f"{100 * r['greedy_invalid_rate'][arm]:.1f} | {C.ci(r['arm_minus_sft'][arm]['sampled']) if arm != 'sft' else '—'} | "
        f"{C.ci(r['arm_minus_reference'][arm]['sampled']) if arm in r['arm_minus_reference'] else '—'} | "
        f"{C.ci(r['arm_minus_reference'][arm]['greedy']) if arm in r['arm_minus_reference'] else '—'} |"
        for arm in r["accuracy"])
    return f"""# top-p 1.0 vs {r['top_p']}, and KL vs no KL

Command: `python bench/science/topp_kl.py --steps {r['steps']} --top-p {r['top_p']} --kl-coef {r['kl_coef']} --arms {' '.join(r['arms'])} --seed {r['seed']}` —
on a shared 2-core CPU box (an arm already run is read back; each arm's wall time when it ran:
{', '.join(f"{a} {(v.get('arm_wall_seconds') or 0) / 60:.1f} min" for a, v in r['runs'].items())}): {len(r['runs'])} RL arms of
{r['steps']} steps (32 prompts × 8 rollouts) from the same SFT model, one training seed. Held-out: {r['eval']['per_domain']} records per domain, greedy and
{r['eval']['samples']} sampled draws at temperature 1 and **top-p 1.0** for every arm; paired bootstrap 95% intervals over
records (no training-seed variance in them).

## Rollout health, first quarter → last quarter of the run

| arm | format errors % | response tokens | entropy | rollout accuracy % | KL to SFT, last quarter (— where no KL term) |
|---|---:|---:|---:|---:|---:|
{chr(10).join(lines)}

![health over steps](health.png)

## Held-out accuracy (mean over domains, %)

| model | sampled | greedy | greedy invalid-answer % | − SFT, sampled [95%] | − reference, sampled [95%] | − reference, greedy [95%] |
|---|---:|---:|---:|---:|---:|---:|
{acc}

![held-out per domain](heldout.png)
"""


if __name__ == "__main__":
    raise SystemExit(main())
