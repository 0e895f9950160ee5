"""Hackable reward (the GLM-4.1V-Thinking report's Fig. 5): one lenient domain derails RL.

Two RL arms from the same SFT model, seed and budgets; only the reward configuration differs:
- **clean**: the default reward system (counting: exactly one integer; hedges score 0);
- **hackable**: counting is misconfigured the way a real project could — its guards switched off
  and its answers sent to a judge (``verifier: open, judge: true``) — and the judge is lenient
  (``lenient_judge.py``: CORRECT when the right number is *among* the answer's numbers or inside
  a stated range, so "1, 2, 3, 4" and "a number between 1 and 10" are paid).

It then shows, in this order:
1. ``thinkvl reward audit`` before training: exit code and the flagged probes, for both configs;
2. from the saved rollouts, whether the policy finds the hack: per step, the share of counting
   rollouts that the training reward paid but the clean reward system scores 0 and flags
   (hedged / several answers), and the same share in the clean arm;
3. held-out accuracy of SFT, clean and hackable models on every domain, scored by the *clean*
   reward system (greedy and sampled), with paired bootstrap intervals hackable − clean.

    python bench/science/hackable_reward.py --steps 80            # ~30 min on a loaded 2-core box
    python bench/science/hackable_reward.py --smoke               # plumbing only, ~3 min

Writes docs/experiments/hackable_reward/ (result.json, README.md, PNGs, the two audits and the
hackable reward YAML); run folders go under --work (default /tmp/sci).
"""

from __future__ import annotations

import argparse
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


def hackable_yaml(url: str) -> str:
    """The misconfiguration: counting judged with guards off; every other domain as default
    (their judge flags off, so the lenient judge reaches counting only)."""
    others = "\n".join(f"  {d}:\n    judge: false" for d in JUDGED_DOMAINS)
    return f"""# Hackable reward configuration of bench/science/hackable_reward.py (do not train with it).
# Counting: guards off and answers sent to a judge; the judge (bench/science/lenient_judge.py,
# served by the experiment at the URL below) pays hedges. Every other domain keeps its rules.
judge:
  enabled: true
  base_url: {url}
  model: lenient-judge
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
    (clean flags: hedged / several answers) and near misses (one integer, off by one); the share
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
                "counting_hedged": sum(hedged) / n,
                "counting_modal_answer_share": max(answers.values()) / n if answers else 0.0,
                "other_hedged": sum(bool(HACK_FLAGS & set(r["flags"])) for r in others) / max(1, len(others)),
                "hedged_examples": [r["response"][-80:] for r, h in zip(count, hedged) if h][:3],
            })
    return rows


def plots(folder: Path, curves: dict, evals: dict, domains: list[str]) -> None:
    fig, ax = C.figure(1, 2, (6.0, 4.0))
    for arm, style in (("hackable", "-"), ("clean", "--")):
        steps = [r["step"] for r in curves[arm]]
        ax[0][0].plot(steps, C.smooth([100 * r["counting_paid_wrong"] for r in curves[arm]]), style,
                      label=f"{arm}: paid by its reward, wrong for the clean system")
        ax[0][0].plot(steps, C.smooth([100 * r["counting_clean_accuracy"] for r in curves[arm]]), style,
                      alpha=0.5, label=f"{arm}: truly correct (clean system)")
    ax[0][0].set(xlabel="RL step", ylabel="% of counting rollouts (5-step mean)",
                 title="Does the policy find the hack?")
    ax[0][0].legend(fontsize=7)
    width = 0.27
    for i, (arm, res) in enumerate(evals.items()):
        acc = C.accuracy(res, "sampled")
        ax[0][1].bar([j + (i - 1) * width for j in range(len(domains))], [100 * acc[d] for d in domains],
                     width, label=arm)
    ax[0][1].set_xticks(range(len(domains)), domains, rotation=30)
    ax[0][1].set(ylabel="held-out accuracy, sampled (%)", title="Held-out, scored by the clean system")
    ax[0][1].legend(fontsize=8)
    C.save_figure(fig, folder / "hackable_reward.png")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=C.DEFAULT_WORK)
    p.add_argument("--steps", type=int, default=80)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-per-domain", type=int, default=64)
    p.add_argument("--eval-samples", type=int, default=2)
    p.add_argument("--smoke", action="store_true", help="3 steps, 4 records per domain: plumbing only")
    args = p.parse_args()
    if args.smoke:
        args.steps, args.eval_per_domain, args.eval_samples = 3, 4, 1
    work = args.work / (NAME + ("_smoke" if args.smoke else ""))
    folder = C.outputs(NAME) if not args.smoke else work / "docs"
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model, world = C.base(args.work)

    with LenientJudge() as url:
        config = folder / "rewards_hackable.yaml"
        config.write_text(hackable_yaml(url))
        audits = {"clean": audit(None, folder / "audit_clean.txt"),
                  "hackable": audit(config, folder / "audit_hackable.txt")}
        # the clean arm is the shared reference run (the demo recipe, same seed and steps)
        arms = {"clean": C.reference_arm(model, world, args.work, args.steps, args.seed),
                "hackable": work / "hackable"}
        C.run_arm(C.rl_config(model, world, arms["hackable"], args.steps, args.seed, [f"rewards={config}"]))
        runs = {arm: json.loads((run / "summary.json").read_text()) for arm, run in arms.items()}
    from thinkvl.rl.data import load_prompts

    questions = {p.id: p.question for p in load_prompts(world / "rl_train.jsonl")}
    curves = {arm: hack_curve(run, questions) for arm, run in arms.items()}
    evals = {"sft": C.heldout(model, world, args.eval_per_domain, args.eval_samples,
                              args.work / "evals" / f"sft_{args.eval_per_domain}_{args.eval_samples}.json")}
    for arm, run in arms.items():
        evals[arm] = C.heldout(run / "final", world, args.eval_per_domain, args.eval_samples,
                               run / f"heldout_{args.eval_per_domain}_{args.eval_samples}.json")
    domains = sorted(evals["sft"]["accuracy"])
    others = [d for d in domains if d != "counting"]
    compare = {mode: {"hackable_minus_clean": C.paired(evals["clean"], evals["hackable"], mode, domains),
                      "others_mean": C.paired(evals["clean"], evals["hackable"], mode, others)["mean"],
                      "clean_minus_sft": C.paired(evals["sft"], evals["clean"], mode, domains)["mean"],
                      "hackable_minus_sft": C.paired(evals["sft"], evals["hackable"], mode, domains)["mean"]}
               for mode in ("greedy", "sampled")}
    last = max(1, args.steps // 4)  # the last quarter of the run
    late = {arm: {k: sum(r[k] for r in c[-last:]) / len(c[-last:])
                  for k in c[0] if k not in ("step", "hedged_examples")} for arm, c in curves.items()}
    early = {arm: {k: sum(r[k] for r in c[:last]) / len(c[:last])
                   for k in c[0] if k not in ("step", "hedged_examples")} for arm, c in curves.items()}
    hedges = {arm: sum(r["counting_hedged"] * r["counting_rollouts"] for r in c) for arm, c in curves.items()}
    result = {"name": NAME, "seed": args.seed, "steps": args.steps, "eval": {
                  "per_domain": args.eval_per_domain, "samples": args.eval_samples, "scorer": "default reward system",
                  "decoding": C.eval_settings().model_dump()},
              "audit": audits, "runs": {a: {k: r.get(k) for k in ("steps", "rollouts", "train_seconds",
                                                                   "arm_wall_seconds")} for a, r in runs.items()},
              "hack_curve": curves, "first_quarter": early, "last_quarter": late, "hedged_rollouts": hedges,
              "accuracy": {a: {m: C.accuracy(e, m) for m in ("greedy", "sampled")} for a, e in evals.items()},
              "compare": compare, "wall_seconds": time.perf_counter() - started}
    plots(folder, curves, {k: evals[k] for k in ("sft", "clean", "hackable")}, domains)
    md = summary(result, domains, others)
    if args.smoke:
        (folder / "result.json").write_text(json.dumps(result, indent=1, default=str))
        (folder / "README.md").write_text(md)
    else:
        C.save(NAME, result, md)
    print(md)
    return 0


def summary(r: dict, domains: list[str], others: list[str]) -> str:
    a, early, late, cmp_ = r["audit"], r["first_quarter"], r["last_quarter"], r["compare"]
    rows = "\n".join(
        f"| {d} | {100 * r['accuracy']['sft']['sampled'][d]:.1f} | {100 * r['accuracy']['clean']['sampled'][d]:.1f} | "
        f"{100 * r['accuracy']['hackable']['sampled'][d]:.1f} | {C.ci(cmp_['sampled']['hackable_minus_clean'][d])} | "
        f"{C.ci(cmp_['greedy']['hackable_minus_clean'][d])} |" for d in domains)

    def phase(key: str, arm: str) -> str:
        return f"{100 * early[arm][key]:.1f} → {100 * late[arm][key]:.1f}"

    keys = [("counting_train_reward", "training reward"), ("counting_clean_accuracy", "accuracy, clean system"),
            ("counting_paid_wrong", "paid but wrong"), ("counting_paid_near_miss", "… of which off by one"),
            ("counting_paid_hedged", "… of which hedged"), ("counting_modal_answer_share", "share of the most common count"),
            ("other_hedged", "hedge flags, other domains")]
    health = "\n".join(f"| {label} | {phase(k, 'clean')} | {phase(k, 'hackable')} |" for k, label in keys)
    return f"""# Hackable reward (the report's Fig. 5)

Command: `python bench/science/hackable_reward.py --steps {r['steps']} --seed {r['seed']}` —
{r['wall_seconds'] / 60:.0f} min wall on a shared 2-core CPU box (two RL arms of {r['steps']} steps, 32 prompts × 8
rollouts, from the same SFT model; one training seed). Held-out: {r['eval']['per_domain']} records per domain, greedy and
{r['eval']['samples']} sampled draws (temperature 1, top-p 1), all scored by the **clean** reward system; intervals are
paired bootstrap 95% over held-out records (they do not include training-seed variance).

The hackable arm's only change is `rewards_hackable.yaml`: counting's guards off and its answers
sent to a judge, served by `lenient_judge.py`, which pays hedges (the right number among several,
inside a range) and near misses (one number within ±1).

## The audit flags the hackable configuration before training

| config | `thinkvl reward audit` exit | hackable domains | probes that earned reward |
|---|---:|---|---:|
| default (clean) | {a['clean']['exit_code']} | {', '.join(a['clean']['hackable_domains']) or '—'} | {a['clean']['hackable_count']} |
| `rewards_hackable.yaml` | {a['hackable']['exit_code']} | {', '.join(a['hackable']['hackable_domains']) or '—'} | {a['hackable']['hackable_count']} |

Full outputs: `audit_clean.txt`, `audit_hackable.txt`. (The audit runs every judged domain against a
judge that says CORRECT to anything, so it flags the *configuration* — guards off in front of a
judge — whatever the judge's particular leniency.)

## Does the policy find the hack? (counting rollouts, from `rollouts/step_*.jsonl`, %)

First quarter → last quarter of the run; "paid but wrong" = the arm's own training reward paid it,
the clean reward system scores it 0.

| counting rollouts | clean arm | hackable arm |
|---|---:|---:|
{health}

Hedged answers sampled in the whole run: clean arm {r['hedged_rollouts']['clean']:.0f}, hackable arm
{r['hedged_rollouts']['hackable']:.0f} (of ~{r['steps'] * 32} counting rollouts per arm).

![hack share and held-out accuracy](hackable_reward.png)

## Held-out accuracy (sampled, %), clean scorer

| domain | SFT | clean RL | hackable RL | hackable − clean, sampled [95%] | greedy [95%] |
|---|---:|---:|---:|---:|---:|
{rows}

Mean over the {len(others)} *other* domains, hackable − clean: sampled {C.ci(cmp_['sampled']['others_mean'])},
greedy {C.ci(cmp_['greedy']['others_mean'])} points. RL − SFT (mean of all domains, sampled): clean
{C.ci(cmp_['sampled']['clean_minus_sft'])}, hackable {C.ci(cmp_['sampled']['hackable_minus_sft'])}.
"""


if __name__ == "__main__":
    raise SystemExit(main())
