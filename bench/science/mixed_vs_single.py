"""Mixed-domain vs single-domain RL (the report: RL on all domains mixed helps each domain).

Arms, all from the same SFT model with the same seed, recipe and steps:
- **mixed**: the shared reference arm — every synthetic domain, 32 prompts a step, so about 4
  prompts (32 rollouts) of each domain per step;
- **single:D** for each chosen domain D: ``curriculum.domain_mix={D: 1}`` and
  ``rl.prompts_per_step=4``, i.e. the same rollouts *of D* per step as the mixed arm gives D, and
  nothing else.

Equal rollouts per domain is the comparison the report's claim needs (does the *other* domains'
data help D?), but it is not equal everything: with per-sample loss normalisation a single-domain
step's gradient is the mean over D's samples only, so D's samples weigh ~8× more per optimizer
step than inside a mixed batch (same lr); the mixed arm also spends ~8× the compute. The rollouts
each arm actually drew per domain (dynamic sampling expands draws) are counted from the saved
rollouts and reported.

Held-out accuracy on D (96 records, greedy and 4 sampled draws, clean scorer) for SFT, mixed and
single:D, over several training seeds (each seed: its own mixed arm and single arms); paired
bootstrap 95% intervals of mixed − single and each − SFT on the seed-averaged record values.

    python bench/science/mixed_vs_single.py --steps 80 --seeds 0 1 2   # ~35 min (2 new reference arms)
    python bench/science/mixed_vs_single.py --smoke
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

NAME = "mixed_vs_single"


def rollouts_by_domain(run: Path) -> dict[str, int]:
    counts: Counter = Counter()
    for rows in C.rollouts(run).values():
        counts.update(r["domain"] for r in rows)
    return dict(counts)


def plot(folder: Path, result: dict) -> None:
    domains = result["domains"]
    fig, ax = C.figure(1, 1, (6.5, 4.0))
    width = 0.27
    for i, arm in enumerate(("sft", "single", "mixed")):
        ys = [100 * result["accuracy"][d][arm]["sampled"] for d in domains]
        ax[0][0].bar([j + (i - 1) * width for j in range(len(domains))], ys, width, label=arm)
    for j, d in enumerate(domains):  # the interval of mixed − single, drawn on the mixed bar
        c = result["mixed_minus_single"]["sampled"][d]
        top = 100 * result["accuracy"][d]["mixed"]["sampled"]
        ax[0][0].annotate(f"{100 * c['delta']:+.1f}\n[{100 * c['low']:+.1f}, {100 * c['high']:+.1f}]",
                          (j + width, top), ha="center", va="bottom", fontsize=7)
    highest = max(100 * result["accuracy"][d][arm]["sampled"] for d in domains for arm in ("sft", "single", "mixed"))
    ax[0][0].set_ylim(0, highest * 1.25)  # room for the labels under the title
    ax[0][0].set_xticks(range(len(domains)), domains)
    ax[0][0].set(ylabel="held-out accuracy, sampled (%)",
                 title="Mixed vs single-domain RL (labels: mixed − single, 95%)")
    ax[0][0].legend(fontsize=8, loc="lower right")
    C.save_figure(fig, folder / "mixed_vs_single.png")


def averaged(evals: list[dict], domains: list[str]) -> dict:
    """One evaluation-shaped dict whose per-record values are the mean over ``evals`` (the
    seeds' models, evaluated on the same records): greedy and sampled."""
    def mean_of(mode: str) -> dict:
        out = {}
        for d in domains:
            ids = set.intersection(*(set(C.values(e, mode)[d]) for e in evals))
            out[d] = {i: sum(C.values(e, mode)[d][i] for e in evals) / len(evals) for i in ids}
        return out

    greedy, sampled = mean_of("greedy"), mean_of("sampled")
    acc = lambda v: {d: sum(x.values()) / len(x) for d, x in v.items()}  # noqa: E731
    return {"records": greedy, "accuracy": acc(greedy), "sampled": {"records": sampled, "accuracy": acc(sampled)}}


def main() -> int:
    p = C.parser(__doc__, steps=80, eval_per_domain=96, eval_samples=4, seed=False)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--domains", nargs="+",
                   default=["chart", "choice", "counting", "grounding", "gui", "math", "ocr", "video"])
    args = p.parse_args()
    work, folder = C.prepare(args, NAME, seeds=[0])
    started = time.perf_counter()
    model, world = C.base(args.work)
    per_domain_prompts = 32 // 8  # the reference arm's 32 prompts a step over the 8 domains
    tag = f"{args.eval_per_domain}_{args.eval_samples}"
    sft_eval = C.heldout(model, world, args.eval_per_domain, args.eval_samples, args.work / "evals" / f"sft_{tag}.json")
    mixed, singles, evals, runs = {}, {}, {}, {}
    for seed in args.seeds:
        mixed[seed] = C.reference_arm(model, world, args.work, args.steps, seed, args.smoke)
        evals[seed] = {"mixed": C.heldout(mixed[seed] / "final", world, args.eval_per_domain, args.eval_samples,
                                          mixed[seed] / f"heldout_{tag}.json")}
        runs[f"mixed_s{seed}"] = mixed[seed]
        for d in args.domains:
            run = singles[seed, d] = work / f"single_{d}_s{seed}"
            C.run_arm(C.rl_config(model, world, run, args.steps, seed, [
                f"curriculum.domain_mix={{{d}: 1.0}}", f"rl.prompts_per_step={per_domain_prompts}"]))
            evals[seed][d] = C.heldout(run / "final", world, args.eval_per_domain, args.eval_samples,
                                       run / f"heldout_{tag}_{d}.json", domains=[d])
            runs[f"single_{d}_s{seed}"] = run
    doms = args.domains
    single = averaged([{"records": {d: evals[s][d]["records"][d] for d in doms},
                        "sampled": {"records": {d: evals[s][d]["sampled"]["records"][d] for d in doms}}}
                       for s in args.seeds], doms)
    mix = averaged([evals[s]["mixed"] for s in args.seeds], doms)
    vs = {m: C.paired(single, mix, m, doms) for m in ("greedy", "sampled")}
    vs["single_minus_sft"] = C.paired(sft_eval, single, "sampled", doms)
    vs["mixed_minus_sft"] = C.paired(sft_eval, mix, "sampled", doms)
    per_seed = {d: [C.paired(evals[s][d], evals[s]["mixed"], "sampled", [d])[d]["delta"] for s in args.seeds]
                for d in doms}
    drawn = {d: {"mixed": sum(rollouts_by_domain(mixed[s]).get(d, 0) for s in args.seeds) / len(args.seeds),
                 "single": sum(rollouts_by_domain(singles[s, d]).get(d, 0) for s in args.seeds) / len(args.seeds)}
             for d in doms}
    accuracy = {d: {arm: {m: C.accuracy(e, m)[d] for m in ("greedy", "sampled")}
                    for arm, e in (("sft", sft_eval), ("single", single), ("mixed", mix))} for d in doms}
    result = {"name": NAME, "seeds": args.seeds, "steps": args.steps, "domains": doms,
              "eval": {"per_domain": args.eval_per_domain, "samples": args.eval_samples,
                       "decoding": C.eval_settings().model_dump()},
              "rollouts_of_domain": drawn, "accuracy": accuracy, "mixed_minus_single": vs,
              "mixed_minus_single_per_seed": per_seed,
              "runs": C.run_facts(runs),
              "wall_seconds": time.perf_counter() - started}
    plot(folder, result)
    md = summary(result)
    C.publish(NAME, result, md, folder, args.smoke)
    return 0


def summary(r: dict) -> str:
    vs = r["mixed_minus_single"]
    rows = "\n".join(
        f"| {d} | {r['rollouts_of_domain'][d]['single']:.0f} / {r['rollouts_of_domain'][d]['mixed']:.0f} | "
        f"{100 * r['accuracy'][d]['sft']['sampled']:.1f} | {100 * r['accuracy'][d]['single']['sampled']:.1f} | "
        f"{100 * r['accuracy'][d]['mixed']['sampled']:.1f} | {C.ci(vs['sampled'][d])} | "
        f"{', '.join(f'{100 * x:+.1f}' for x in r['mixed_minus_single_per_seed'][d])} | {C.ci(vs['greedy'][d])} | "
        f"{C.ci(vs['single_minus_sft'][d])} | {C.ci(vs['mixed_minus_sft'][d])} |" for d in r["domains"])
    rows += (f"\n| **mean** | | | | | {C.ci(vs['sampled']['mean'])} | | {C.ci(vs['greedy']['mean'])} | "
             f"{C.ci(vs['single_minus_sft']['mean'])} | {C.ci(vs['mixed_minus_sft']['mean'])} |")
    seeds = " ".join(map(str, r["seeds"]))
    every = ["chart", "choice", "counting", "grounding", "gui", "math", "ocr", "video"]
    doms = "" if sorted(r["domains"]) == every else " --domains " + " ".join(r["domains"])
    walls = {k: (v.get("arm_wall_seconds") or 0) / 60 for k, v in r["runs"].items()}
    mixed = [w for k, w in walls.items() if k.startswith("mixed")]
    single = [w for k, w in walls.items() if k.startswith("single")]
    subset = (f" Only {len(r['domains'])} of the 8 domains got a single-domain arm."
              if doms else "")
    return f"""# Mixed vs single-domain RL

Command: `python bench/science/mixed_vs_single.py --steps {r['steps']} --seeds {seeds}{doms}` — {r['wall_seconds'] / 60:.0f} min wall
for this invocation on a shared 2-core CPU box (arms already run are read back). Measured arm wall
times: mixed {', '.join(f'{w:.1f}' for w in mixed)} min, single-domain {min(single):.1f}–{max(single):.1f} min.{subset}
The mixed arms are the shared reference arms (one per seed). Training seeds {seeds}; accuracies and intervals are of the
seed-averaged models' record values (each held-out record's value averaged over the seeds'
models, then a paired bootstrap 95% interval over records: it includes evaluation noise, and
seed noise only through that average); the per-seed column shows the spread between seeds.
Held-out: {r['eval']['per_domain']} records of each domain, greedy and {r['eval']['samples']} sampled draws (temperature 1,
top-p 1), clean scorer. Points.

Mixed: all 8 domains, 32 prompts a step. Single:D: only D, 4 prompts a step (D's share of a mixed
step), same {r['steps']} steps, so about the same rollouts of D (counted below, mean over seeds; dynamic
sampling's expansion differs per arm). Same lr, so D's samples weigh ~8× more per optimizer step
in single:D (per-sample normalisation averages over the batch), and the mixed arm spends ~8× the
compute of one single-domain arm.

| domain | rollouts of D, single / mixed | SFT % | single % | mixed % | mixed − single, sampled [95%] | per seed | greedy [95%] | single − SFT | mixed − SFT |
|---|---:|---:|---:|---:|---:|---|---:|---:|---:|
{rows}

![mixed vs single](mixed_vs_single.png)
"""


if __name__ == "__main__":
    raise SystemExit(main())
