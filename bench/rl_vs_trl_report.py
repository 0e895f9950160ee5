"""Numbers, curves and a markdown summary for ``bench/rl_learning_vs_trl.py``.

Every change is a paired bootstrap 95% interval over held-out records (``thinkvl.eval.bootstrap``):
an arm's gain is ``after − SFT`` on the same records; an arm against TRL is ``after_arm − after_trl``
at the same rollout mark. With several seeds a record's value is its mean over seeds (the interval
then covers held-out sampling, not training-seed spread, which the per-seed rows show).
"""

from __future__ import annotations

import json
from pathlib import Path

from thinkvl.eval.bootstrap import paired_bootstrap

KINDS = ("sampled", "greedy")
COLORS = {"thinkvl": "#3b6fd8", "no_curriculum": "#2a9d8f", "no_dynamic": "#e9a03b", "trl": "#d6455d"}


def records(ev: dict, kind: str) -> dict:
    return (ev.get("sampled") or {}).get("records", {}) if kind == "sampled" else ev["records"]


def mean_over_seeds(values: list[dict]) -> dict:
    """Per record, the mean of its value over seeds (records present in every seed)."""
    out = {}
    for domain in set.intersection(*(set(v) for v in values)):
        ids = set.intersection(*(set(v[domain]) for v in values))
        out[domain] = {i: sum(v[domain][i] for v in values) / len(values) for i in ids}
    return out


def at_mark(points: list[dict], mark: int) -> dict | None:
    """The arm's last evaluation at or before ``mark`` rollouts."""
    before = [p for p in points if p["rollouts"] <= mark]
    return before[-1] if before else None


def interval(before: dict, after: dict) -> dict:
    return paired_bootstrap(before, after, resamples=2000, seed=0)


def summarise(runs: dict[str, dict[int, dict]], args, budget: int, grade: dict) -> dict:
    seeds = sorted({s for by_seed in runs.values() for s in by_seed})
    marks = list(range(0, budget + 1, args.eval_every))
    if marks[-1] != budget:
        marks.append(budget)
    arms: dict[str, dict] = {}
    for name, by_seed in runs.items():
        curve = []
        for mark in marks:
            pts = [at_mark(by_seed[s]["points"], mark) for s in seeds]
            if any(p is None for p in pts):
                continue
            row = {"mark": mark, "rollouts": [p["rollouts"] for p in pts], "steps": [p["steps"] for p in pts],
                   "train_seconds": [p["train_seconds"] for p in pts]}
            for kind in KINDS:
                base = mean_over_seeds([records(by_seed[s]["points"][0]["eval"], kind) for s in seeds])
                now = mean_over_seeds([records(p["eval"], kind) for p in pts])
                if base and now:
                    row[f"{kind}_accuracy"] = [p["eval"].get("sampled", {}).get("mean_accuracy") if kind == "sampled"
                                               else p["eval"]["mean_accuracy"] for p in pts]
                    row[f"{kind}_gain"] = interval(base, now)
            curve.append(row)
        arms[name] = {"curve": curve, "per_seed": {s: {k: v for k, v in r.items() if k != "points"}
                                                   for s, r in by_seed.items()}}
    versus = {}
    if "trl" in runs:
        for name in runs:
            if name == "trl":
                continue
            rows = []
            for mark in marks[1:]:
                mine = [at_mark(runs[name][s]["points"], mark) for s in seeds]
                theirs = [at_mark(runs["trl"][s]["points"], mark) for s in seeds]
                if any(p is None or p["rollouts"] == 0 for p in mine + theirs):
                    continue
                row = {"mark": mark, "rollouts": [p["rollouts"] for p in mine],
                       "trl_rollouts": [p["rollouts"] for p in theirs]}
                for kind in KINDS:
                    a = mean_over_seeds([records(p["eval"], kind) for p in mine])
                    b = mean_over_seeds([records(p["eval"], kind) for p in theirs])
                    if a and b:
                        row[kind] = interval(b, a)
                rows.append(row)
            versus[name] = rows
    return {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "budget_rollouts": budget, "seeds": seeds, "grading": {k: grade.get(k) for k in
                                                                    ("prompts", "k", "rollouts", "tiers")},
            "arms": arms, "versus_trl": versus}


def _fmt(ci: dict | None) -> str:
    if not ci:
        return "n/a"
    return f"{100 * ci['delta']:+.1f} [{100 * ci['low']:+.1f}, {100 * ci['high']:+.1f}]"


def _seeds(values: list) -> str:
    return "/".join(str(v) for v in values)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, kind in zip(axes, KINDS):
        for name, arm in result["arms"].items():
            rows = [r for r in arm["curve"] if f"{kind}_gain" in r]
            x = [sum(r["rollouts"]) / len(r["rollouts"]) for r in rows]
            y = [100 * r[f"{kind}_gain"]["delta"] for r in rows]
            lo = [y_ - 100 * r[f"{kind}_gain"]["low"] for y_, r in zip(y, rows)]
            hi = [100 * r[f"{kind}_gain"]["high"] - y_ for y_, r in zip(y, rows)]
            ax.errorbar(x, y, yerr=[lo, hi], label=name, color=COLORS.get(name), marker="o", ms=3, capsize=2,
                        lw=1.4, alpha=0.9)
        ax.axhline(0, color="#888", lw=0.8)
        ax.set_title(f"held-out {kind} accuracy − SFT (95% CI)")
        ax.set_xlabel("rollouts generated")
    axes[0].set_ylabel("points")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def markdown(result: dict, command: str) -> str:
    s = result["settings"]
    lines = [
        "# RL learning per rollout: thinkvl vs TRL's GRPOTrainer", "",
        f"Command: `{command}`", "",
        (f"Same SFT model (demo recipes, domains {', '.join(s['domains'])}, levels 1-2, {s['per_domain']} "
        f"records per domain, {s['pretrain_steps']} pre-training + {s['sft_steps']} SFT steps), "
        f"{s['prompts']} prompts x group {s['group']} per step, think {s['think']} + answer {s['answer']} "
        f"tokens, lr {s['lr']} (warm-up {s['warmup']}), budget {result['budget_rollouts']} rollouts, "
        f"seeds {result['seeds']}. Held-out: {s['eval_per_domain']} records per domain, greedy and "
        f"{s['eval_samples']} sampled draws per record (temperature 1)."),
        (f"Offline grading for RLCS (not on the x axis): {result['grading'].get('rollouts')} rollouts "
        f"({result['grading'].get('prompts')} prompts x k={result['grading'].get('k')})."), "",
        "## At the budget", "",
        ("| arm | rollouts | steps | train s | sampled gain, points [95% CI] | greedy gain | "
        "sampled vs TRL | greedy vs TRL |"),
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, arm in result["arms"].items():
        last = arm["curve"][-1]
        vs = (result["versus_trl"].get(name) or [{}])[-1] if name != "trl" else {}
        lines.append(f"| {name} | {_seeds(last['rollouts'])} | {_seeds(last['steps'])} | "
                     f"{_seeds(last['train_seconds'])} | "
                     f"{_fmt(last.get('sampled_gain'))} | {_fmt(last.get('greedy_gain'))} | "
                     f"{_fmt(vs.get('sampled')) if vs else '—'} | {_fmt(vs.get('greedy')) if vs else '—'} |")
    lines += ["", "## Curve (sampled gain over SFT, points [95% CI])", "",
              "| mark | " + " | ".join(result["arms"]) + " |", "|---|" + "---|" * len(result["arms"])]
    marks = sorted({r["mark"] for a in result["arms"].values() for r in a["curve"]})
    for mark in marks:
        cells = []
        for arm in result["arms"].values():
            row = next((r for r in arm["curve"] if r["mark"] == mark), None)
            cells.append(f"{_fmt(row.get('sampled_gain'))} @ {_seeds(row['rollouts'])}" if row else "")
        lines.append(f"| {mark} | " + " | ".join(cells) + " |")
    lines += ["", "![curves](curves.png)", ""]
    return "\n".join(lines)


def write_outputs(result: dict, out: Path, command: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    result["command"] = command
    (out / "results.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    plot(result, out / "curves.png")
    (out / "summary.md").write_text(markdown(result, command))
    print((out / "summary.md").read_text())
