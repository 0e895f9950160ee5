"""Hackable reward (the GLM-4.1V-Thinking report's Fig. 5): one lenient domain derails RL?

RL arms from the same SFT model, seed and budgets; only the reward configuration differs:
- **clean**: the default reward system (counting: exactly one integer; hedges score 0) — the
  shared reference arm;
- **hackable_near**, **hackable_over**: counting is misconfigured the way a real project could —
  its guards switched off and its answers sent to a judge (``verifier: open, judge: true``) — and
  the judge is lenient (``lenient_judge.py``): it pays hedges (the right number among several,
  inside a range: "1, 2, 3, 4", "a number between 1 and 10") and, because a tiny policy never
  samples hedges, one leniency it can reach: ``near`` pays counts within ±1, ``over`` pays any
  count at least the right one (so "always say the largest count" wins).

It then shows, in this order:
1. ``thinkvl reward audit`` before training: exit code and the flagged probes, for every config;
2. from the saved rollouts, whether the policy finds the hack: per step, the counting rollouts'
   training reward, their accuracy under the clean reward system, the share paid but wrong
   (hedged / near miss / over-count), and the share of the most common answer (a policy that
   stops looking collapses onto one count);
3. held-out accuracy of SFT, clean and hackable models on every domain, scored by the *clean*
   reward system (greedy and sampled), with paired bootstrap intervals hackable − clean.

    python bench/science/hackable_reward.py --steps 80     # ~40 min on a loaded 2-core box
    python bench/science/hackable_reward.py --smoke        # plumbing only, ~3 min

Writes docs/experiments/hackable_reward/ (result.json, README.md, a PNG, the audits and the
hackable reward YAMLs); run folders go under --work (default /tmp/sci).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402
from lenient_judge import LenientJudge  # noqa: E402

NAME = "hackable_reward"
HACK_FLAGS = {"hedged", "multiple_answers"}
JUDGED_DOMAINS = ("physics", "chemistry", "chart", "vqa", "video", "spatial", "long_doc", "general")


HACKS = {"hackable_near": "lenient-near", "hackable_over": "lenient-over"}


def hackable_yaml(url: str, model: str = "lenient-over") -> str:
    """The misconfiguration: counting judged with guards off; every other domain as default
    (their judge flags off, so the lenient judge reaches counting only). ``model`` names the
    judge's leniency (``lenient_judge.py``)."""
    others = "\n".join(f"  {d}:\n    judge: false" for d in JUDGED_DOMAINS)
    return f"""# Hackable reward configuration of bench/science/hackable_reward.py (do not train with it).
# Counting: guards off and answers sent to a judge; the judge (bench/science/lenient_judge.py,
# served by the experiment at the URL below) pays hedges ({model}: see lenient_judge.py).
# Every other domain keeps its rules.
judge:
  enabled: true
  base_url: {url}
  model: {model}
  cache_dir: null
domains:
  counting:
    verifier: open
    judge: true
    guards:
      hedge: false
      multiple_answers: false
      hyphen_ranges: false
{others}
"""


def audit(config: Path | None, out: Path) -> dict:
    """``thinkvl reward audit`` as a user runs it: exit code, the table, hackable domains."""
    cmd = [sys.executable, "-m", "thinkvl.cli", "reward", "audit"] + (["--config", str(config)] if config else [])
    env = {**os.environ, "PYTHONPATH": str(C.ROOT / "src"), "COLUMNS": "160", "NO_COLOR": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    out.write_text(f"$ thinkvl reward audit{' --config ' + config.name if config else ''}\n"
                   f"{proc.stdout}{proc.stderr}exit code {proc.returncode}\n")
    js = subprocess.run(cmd + ["--json"], capture_output=True, text=True, env=env)
    report = json.loads(js.stdout)
    hacked = [f"{r['domain']}:{r['probe']}" for r in report["hackable"]]
    return {"exit_code": proc.returncode, "passed": report["passed"], "probes": len(report["results"]),
            "hackable_domains": sorted({h.split(":")[0] for h in hacked}), "hackable_count": len(hacked),
            "hackable_probes": hacked}


def hack_curve(run: Path, questions: dict[str, str]) -> list[dict]:
    """Per step, over the counting rollouts: training reward, accuracy under the clean reward
    system, the share *paid but wrong* (training reward > 0, clean score 0), split into hedges
    (clean flags: hedged / several answers), near misses (one integer, off by one) and
    over-counts; the share of over-counts and the mean answer; the share
    of the most common answer (a policy that stops looking at the image collapses onto one
    count); and the hedge-flag share in the other domains (spill-over)."""
    from collections import Counter

    from thinkvl.rewards import RewardSystem

    rows = []
    with RewardSystem() as clean:
        for step, rs in C.rollouts(run).items():
            count = [r for r in rs if r["domain"] == "counting"]
            scored = clean.score_batch([{"response": r["response"], "answer": r["answer"], "domain": "counting",
                                         "question": questions.get(r["prompt_id"])} for r in count])
            hedged = [bool(HACK_FLAGS & set(s.flags)) for s in scored]
            paid_wrong = [(r["reward"] or 0) > 0 and s.score == 0 for r, s in zip(count, scored)]
            near = [isinstance(s.extracted, int) and abs(s.extracted - int(r["answer"])) == 1
                    for r, s in zip(count, scored)]
            over = [isinstance(s.extracted, int) and s.extracted > int(r["answer"]) for r, s in zip(count, scored)]
            answers = Counter(s.extracted for s in scored if s.extracted is not None)
            others = [r for r in rs if r["domain"] != "counting"]
            n = max(1, len(count))
            rows.append({
                "step": step, "counting_rollouts": len(count),
                "counting_train_reward": sum(r["reward"] or 0 for r in count) / n,
                "counting_clean_accuracy": sum(bool(s.correct) for s in scored) / n,
                "counting_paid_wrong": sum(paid_wrong) / n,
                "counting_paid_hedged": sum(p and h for p, h in zip(paid_wrong, hedged)) / n,
                "counting_paid_near_miss": sum(p and m for p, m in zip(paid_wrong, near)) / n,
                "counting_paid_over": sum(p and o for p, o in zip(paid_wrong, over)) / n,
                "counting_over": sum(over) / n,
                "counting_mean_answer": (sum(s.extracted for s in scored if isinstance(s.extracted, int))
                                         / max(1, sum(isinstance(s.extracted, int) for s in scored))),
                "counting_hedged": sum(hedged) / n,
                "counting_modal_answer_share": max(answers.values()) / n if answers else 0.0,
                "other_hedged": sum(bool(HACK_FLAGS & set(r["flags"])) for r in others) / max(1, len(others)),
                "hedged_examples": [r["response"][-80:] for r, h in zip(count, hedged) if h][:3],
            })
    return rows


def plots(folder: Path, curves: dict, evals: dict, domains: list[str]) -> None:
    fig, ax = C.figure(1, 3, (5.5, 4.0))
    for arm, rows in curves.items():
        steps = [r["step"] for r in rows]
        line, = ax[0][0].plot(steps, C.smooth([100 * r["counting_train_reward"] for r in rows]), label=f"{arm}: its reward")
        ax[0][0].plot(steps, C.smooth([100 * r["counting_clean_accuracy"] for r in rows]), "--", color=line.get_color(),
                      label=f"{arm}: clean accuracy")
        ax[0][1].plot(steps, C.smooth([100 * r["counting_modal_answer_share"] for r in rows]), label=arm)
    ax[0][0].set(xlabel="RL step", ylabel="% of counting rollouts (5-step mean)",
                 title="Counting: paid vs truly correct")
    ax[0][0].legend(fontsize=6)
    ax[0][1].set(xlabel="RL step", ylabel="% of counting answers", title="Share of the most common count")
    ax[0][1].legend(fontsize=7)
    C.domain_bars(ax[0][2], evals, domains, "held-out accuracy, sampled (%)", "Held-out, scored by the clean system")
    C.save_figure(fig, folder / "hackable_reward.png")


def main() -> int:
    args = C.parser(__doc__, steps=80, eval_per_domain=96, eval_samples=4).parse_args()
    work, folder = C.prepare(args, NAME)
    started = time.perf_counter()
    model, world = C.base(args.work)

    with LenientJudge() as url:
        configs = {}
        audits = {"clean": audit(None, folder / "audit_clean.txt")}
        for arm, judge in HACKS.items():
            configs[arm] = folder / f"rewards_{arm}.yaml"
            configs[arm].write_text(hackable_yaml(url, judge))
            audits[arm] = audit(configs[arm], folder / f"audit_{arm}.txt")
        # the clean arm is the shared reference run (the demo recipe, same seed and steps)
        arms = {"clean": C.reference_arm(model, world, args.work, args.steps, args.seed, args.smoke)}
        for arm, config in configs.items():
            arms[arm] = work / arm
            C.run_arm(C.rl_config(model, world, arms[arm], args.steps, args.seed, [f"rewards={config}"]))
        runs = {arm: json.loads((run / "summary.json").read_text()) for arm, run in arms.items()}
    from thinkvl.rl.data import load_prompts

    questions = {p.id: p.question for p in load_prompts(world / "rl_train.jsonl")}
    curves = {arm: hack_curve(run, questions) for arm, run in arms.items()}
    evals = C.heldout_arms(model, world, args, arms)
    domains = sorted(evals["sft"]["accuracy"])
    others = [d for d in domains if d != "counting"]
    compare = {arm: {mode: {"minus_clean": C.paired(evals["clean"], evals[arm], mode, domains),
                            "others_mean": C.paired(evals["clean"], evals[arm], mode, others)["mean"]}
                     for mode in ("greedy", "sampled")} for arm in HACKS}
    compare["minus_sft"] = {arm: C.paired(evals["sft"], evals[arm], "sampled", domains)["mean"] for arm in arms}
    last = max(1, args.steps // 4)  # the first and last quarter of the run
    skip = ("step", "hedged_examples")
    late = {arm: {k: sum(r[k] for r in c[-last:]) / len(c[-last:]) for k in c[0] if k not in skip}
            for arm, c in curves.items()}
    early = {arm: {k: sum(r[k] for r in c[:last]) / len(c[:last]) for k in c[0] if k not in skip}
             for arm, c in curves.items()}
    hedges = {arm: sum(r["counting_hedged"] * r["counting_rollouts"] for r in c) for arm, c in curves.items()}
    result = {"name": NAME, "seed": args.seed, "steps": args.steps, "eval": {
                  "per_domain": args.eval_per_domain, "samples": args.eval_samples, "scorer": "default reward system",
                  "decoding": C.eval_settings().model_dump()},
              "audit": audits, "runs": {a: {k: r.get(k) for k in ("steps", "rollouts", "train_seconds",
                                                                   "arm_wall_seconds")} for a, r in runs.items()},
              "hack_curve": curves, "first_quarter": early, "last_quarter": late, "hedged_rollouts": hedges,
              "accuracy": {a: {m: C.accuracy(e, m) for m in ("greedy", "sampled")} for a, e in evals.items()},
              "compare": compare, "wall_seconds": time.perf_counter() - started}
    plots(folder, curves, evals, domains)
    md = summary(result, domains, others)
    C.publish(NAME, result, md, folder, args.smoke)
    return 0


def summary(r: dict, domains: list[str], others: list[str]) -> str:
    a, early, late, cmp_, acc = r["audit"], r["first_quarter"], r["last_quarter"], r["compare"], r["accuracy"]
    hacks = list(HACKS)
    rows = "\n".join(
        f"| {d} | {100 * acc['sft']['sampled'][d]:.1f} | {100 * acc['clean']['sampled'][d]:.1f} | "
        + " | ".join(f"{100 * acc[h]['sampled'][d]:.1f}" for h in hacks) + " | "
        + " | ".join(C.ci(cmp_[h]['sampled']['minus_clean'][d]) for h in hacks) + " |" for d in domains)
    audits = "\n".join(f"| {arm} | {x['exit_code']} | {', '.join(x['hackable_domains']) or '—'} | {x['hackable_count']} |"
                        for arm, x in a.items())

    def phase(key: str, arm: str, scale: float = 100) -> str:
        return f"{scale * early[arm][key]:.1f} → {scale * late[arm][key]:.1f}"

    keys = [("counting_train_reward", "training reward"), ("counting_clean_accuracy", "accuracy, clean system"),
            ("counting_paid_wrong", "paid but wrong"), ("counting_paid_near_miss", "… of which off by one"),
            ("counting_paid_over", "… of which over-counts"), ("counting_paid_hedged", "… of which hedged"),
            ("counting_over", "over-counts (any reward)"), ("counting_modal_answer_share", "share of the most common count"),
            ("other_hedged", "hedge flags, other domains")]
    arms = ["clean", *hacks]
    health = "\n".join(f"| {label} | " + " | ".join(phase(k, arm) for arm in arms) + " |" for k, label in keys)
    health += "\n| mean count answered | " + " | ".join(phase("counting_mean_answer", arm, 1) for arm in arms) + " |"
    others_line = "; ".join(f"{h}: sampled {C.ci(cmp_[h]['sampled']['others_mean'])}, greedy "
                            f"{C.ci(cmp_[h]['greedy']['others_mean'])}" for h in hacks)
    vs_sft = ", ".join(f"{arm} {C.ci(c)}" for arm, c in cmp_["minus_sft"].items())
    return f"""# Hackable reward (the report's Fig. 5)

Command: `python bench/science/hackable_reward.py --steps {r['steps']} --seed {r['seed']}` —
{r['wall_seconds'] / 60:.0f} min wall on a shared 2-core CPU box for this invocation (arms already run are read back;
each RL arm of {r['steps']} steps, 32 prompts × 8 rollouts, took ~8 min; all start from the same SFT model; one
training seed). Held-out: {r['eval']['per_domain']} records per domain, greedy and {r['eval']['samples']} sampled draws
(temperature 1, top-p 1), all scored by the **clean** reward system; intervals are paired bootstrap 95%
over held-out records (they do not include training-seed variance).

The hackable arms' only change is their reward YAML (`rewards_hackable_*.yaml`): counting's guards
off and its answers sent to a judge served by `lenient_judge.py`, which pays hedges (the right
number among several, inside a range) and, `near`: one number within ±1; `over`: one number at
least the right one.

## The audit flags the hackable configurations before training

| config | `thinkvl reward audit` exit | hackable domains | probes that earned reward |
|---|---:|---|---:|
{audits}

Full outputs: `audit_*.txt`. (The audit runs every judged domain against a judge that says
CORRECT to anything, so it flags the *configuration* — guards off in front of a judge — whatever
the particular judge's leniency.)

## Does the policy find the hack? (counting rollouts, from `rollouts/step_*.jsonl`, %)

First quarter → last quarter of each run; "paid but wrong" = the arm's own training reward paid
it, the clean reward system scores it 0.

| counting rollouts | {' | '.join(arms)} |
|---|{'---:|' * len(arms)}
{health}

Hedged answers sampled in the whole run: {', '.join(f"{k} {v:.0f}" for k, v in r['hedged_rollouts'].items())}
(of ~{r['steps'] * 32} counting rollouts per arm).

![counting reward vs truth, answer collapse, held-out](hackable_reward.png)

## Held-out accuracy (sampled, %), clean scorer

| domain | SFT | clean RL | {' | '.join(hacks)} | {' | '.join(f'{h} − clean [95%]' for h in hacks)} |
|---|---:|---:|{'---:|' * (2 * len(hacks))}
{rows}

Mean over the {len(others)} *other* domains, hackable − clean: {others_line} (points).
RL − SFT, mean of all domains, sampled: {vs_sft}.
"""


if __name__ == "__main__":
    raise SystemExit(main())
