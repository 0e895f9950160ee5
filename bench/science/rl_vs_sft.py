"""RL vs more SFT at equal compute: is RL's gain more than what the same compute spent on SFT buys?

From the same SFT model (the demo's 300-step cold start):
- **rl**: the shared reference RL arm (demo recipe);
- **sft_flops**: the demo SFT recipe continued from that model for as many steps as match the RL
  arm's compute in a FLOPs proxy (below);
- **sft_wall**: the same, for as many steps as match the RL arm's training wall time (measured on
  the same shared box, so noisier).

FLOPs proxy, in token-forwards (one token through the model forward = 1, forward + backward = 3;
the parameter count is the same for both and cancels; attention's length term is negligible at
these ≤ 256-token sequences; the frozen vision tower's forward is left out of both):
- RL: each drawn prompt prefilled once (P tokens, the KV cache is shared by its group) + every
  generated token (T) + 3 × (P + T) for every trained sample (+ P + T for a KL reference forward);
- SFT: 3 × the tokens of each step's packed rows.
On a CPU, decoding is far slower per token than a training step, which is why the two matches
differ.

Continued SFT restarts the recipe's schedule (warm-up to lr 1e-3, cosine to 0.3×) on the same SFT
records (a third and later epoch); RL trains on the separate RL prompts. Held-out: 96 records per
domain, greedy and 4 sampled draws, clean scorer; paired bootstrap 95% intervals.

    python bench/science/rl_vs_sft.py --steps 80
    python bench/science/rl_vs_sft.py --smoke
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

NAME = "rl_vs_sft"


def prompt_lengths(world: Path, model: Path, ids: set[str]) -> dict[str, int]:
    """Prompt tokens (text + vision placeholders) of each RL prompt id, as the rollout encodes it."""
    from thinkvl.model.factory import load_processor
    from thinkvl.model.inputs import encode_sample
    from thinkvl.rl.data import load_prompts

    processor = load_processor(str(model))
    return {p.id: encode_sample(processor, p.messages, None, p.base_dir).prompt_len
            for p in load_prompts(world / "rl_train.jsonl") if p.id in ids}


def rl_compute(run: Path, world: Path, model: Path, kl: bool = False) -> dict:
    steps = C.rollouts(run)
    ids = {r["prompt_id"] for rows in steps.values() for r in rows}
    plen = prompt_lengths(world, model, ids)
    prefill = decode = train = 0
    for rows in steps.values():
        groups = {(r["group"], r["prompt_id"]) for r in rows}
        prefill += sum(plen[pid] for _, pid in groups)
        decode += sum(r["tokens"] for r in rows)
        train += sum(plen[r["prompt_id"]] + r["tokens"] for r in rows if r["kept"])
    units = prefill + decode + (4 if kl else 3) * train
    return {"prefill_tokens": prefill, "generated_tokens": decode, "trained_tokens": train, "token_forwards": units}


def sft_arm(model: Path, world: Path, out: Path, steps: int, seed: int) -> dict:
    """Continue SFT (demo recipe) from ``model`` for ``steps``; read back when finished."""
    from thinkvl.runtime.checkpoint import has_final
    from thinkvl.train.sft import load_sft_config, run_sft

    if not has_final(out):
        if out.exists():
            import shutil

            shutil.rmtree(out)
        cfg = load_sft_config("demo_sft", [f"model.path={model}", f"data.train={world / 'sft.jsonl'}",
                                           f"run.out={out}", f"train.steps={steps}", f"run.seed={seed}",
                                           "run.save_every=0", "run.sinks=[jsonl]", "run.progress=false"])
        start = time.perf_counter()
        run_sft(cfg)
        (out / "wall.json").write_text(json.dumps({"wall_seconds": time.perf_counter() - start}))
    m = C.metrics(out)
    tokens = sum(x["tokens"] for x in m)
    return {"steps": len(m), "tokens": tokens, "token_forwards": 3 * tokens,
            "train_seconds": sum(x.get("step_time_s", 0) for x in m),
            "wall_seconds": json.loads((out / "wall.json").read_text())["wall_seconds"]}


def main() -> int:
    args = C.parser(__doc__, steps=80, eval_per_domain=96, eval_samples=4,
                    steps_help="RL steps (the shared reference arm)").parse_args()
    work, folder = C.prepare(args, NAME)
    started = time.perf_counter()
    model, world = C.base(args.work)
    rl = C.reference_arm(model, world, args.work, args.steps, args.seed, args.smoke)
    rl_summary = json.loads((rl / "summary.json").read_text())
    rl_cost = {**rl_compute(rl, world, model), "train_seconds": rl_summary["train_seconds"]}
    sft_tokens_per_step = sum(x["tokens"] for x in C.metrics(model.parent)) / len(C.metrics(model.parent))
    k_flops = max(1, round(rl_cost["token_forwards"] / (3 * sft_tokens_per_step)))
    if args.smoke:
        k_flops = min(k_flops, 5)
    arms = {"sft_flops": sft_arm(model, world, work / "sft_flops", k_flops, args.seed)}
    per_step = arms["sft_flops"]["train_seconds"] / arms["sft_flops"]["steps"]
    k_wall = max(1, round(rl_cost["train_seconds"] / per_step))
    if args.smoke:
        k_wall = min(k_wall, 5)
    arms["sft_wall"] = sft_arm(model, world, work / "sft_wall", k_wall, args.seed)
    evals = C.heldout_arms(model, world, args, {"rl": rl, **{arm: work / arm for arm in arms}})
    domains = sorted(evals["sft"]["accuracy"])
    compare = {f"rl_minus_{arm}": {m: C.paired(evals[arm], evals["rl"], m, domains) for m in ("greedy", "sampled")}
               for arm in arms}
    compare.update({f"{arm}_minus_sft": {m: C.paired(evals["sft"], evals[arm], m, domains)["mean"]
                                         for m in ("greedy", "sampled")} for arm in ("rl", *arms)})
    result = {"name": NAME, "seed": args.seed, "rl_steps": args.steps, "compute": {"rl": rl_cost, **arms},
              "sft_tokens_per_step": sft_tokens_per_step,
              "eval": {"per_domain": args.eval_per_domain, "samples": args.eval_samples,
                       "decoding": C.eval_settings().model_dump()},
              "accuracy": {a: {m: C.accuracy(e, m) for m in ("greedy", "sampled")} for a, e in evals.items()},
              "compare": compare, "wall_seconds": time.perf_counter() - started}
    plot(folder, result, domains)
    md = summary(result, domains)
    C.publish(NAME, result, md, folder, args.smoke)
    return 0


def plot(folder: Path, r: dict, domains: list[str]) -> None:
    fig, ax = C.figure(1, 1, (7.0, 4.0))
    arms = ["sft", "rl", "sft_flops", "sft_wall"]
    width = 0.8 / len(arms)
    for i, arm in enumerate(arms):
        acc = r["accuracy"][arm]["sampled"]
        ax[0][0].bar([j + (i - 1.5) * width for j in range(len(domains) + 1)],
                     [100 * acc[d] for d in [*domains, "mean"]], width, label=arm)
    ax[0][0].set_xticks(range(len(domains) + 1), [*domains, "mean"], rotation=30)
    ax[0][0].set(ylabel="held-out accuracy, sampled (%)", title="RL vs more SFT at equal compute")
    ax[0][0].legend(fontsize=8)
    C.save_figure(fig, folder / "rl_vs_sft.png")


def summary(r: dict, domains: list[str]) -> str:
    c, cmp_ = r["compute"], r["compare"]
    acc = r["accuracy"]
    rows = "\n".join(
        f"| {arm} | {c[arm]['steps'] if arm != 'rl' else r['rl_steps']} | {c[arm]['token_forwards'] / 1e6:.2f} | "
        f"{c[arm]['train_seconds'] / 60:.1f} | {100 * acc[arm]['sampled']['mean']:.1f} | {100 * acc[arm]['greedy']['mean']:.1f} | "
        f"{C.ci(cmp_[f'{arm}_minus_sft']['sampled'])} |" for arm in ("rl", "sft_flops", "sft_wall"))
    per = "\n".join(f"| {d} | {100 * acc['sft']['sampled'][d]:.1f} | {100 * acc['rl']['sampled'][d]:.1f} | "
                    f"{100 * acc['sft_flops']['sampled'][d]:.1f} | {100 * acc['sft_wall']['sampled'][d]:.1f} | "
                    f"{C.ci(cmp_['rl_minus_sft_flops']['sampled'][d])} | {C.ci(cmp_['rl_minus_sft_wall']['sampled'][d])} |"
                    for d in domains)
    return f"""# RL vs more SFT at equal compute

Command: `python bench/science/rl_vs_sft.py --steps {r['rl_steps']} --seed {r['seed']}` — {r['wall_seconds'] / 60:.0f} min wall
on a shared 2-core CPU box (reuses the shared reference RL arm). One training seed; held-out
{r['eval']['per_domain']} records per domain, greedy and {r['eval']['samples']} sampled draws (temperature 1, top-p 1), clean
scorer; paired bootstrap 95% intervals over records, in points.

Compute: a FLOPs proxy in token-forwards (RL: prefill + generated tokens + 3 × trained tokens; SFT:
3 × trained tokens; see the script's docstring), and training wall time on the same box. RL's
{c['rl']['token_forwards'] / 1e6:.2f}M token-forwards are {c['rl']['prefill_tokens'] / 1e3:.0f}k prefill,
{c['rl']['generated_tokens'] / 1e3:.0f}k generated and 3 × {c['rl']['trained_tokens'] / 1e3:.0f}k trained tokens.

| arm | steps | token-forwards (M) | train minutes | held-out sampled % | greedy % | − SFT, sampled [95%] |
|---|---:|---:|---:|---:|---:|---:|
{rows}

Per domain (sampled %):

| domain | SFT | RL | SFT+ (FLOPs-matched) | SFT+ (wall-matched) | RL − SFT+ flops [95%] | RL − SFT+ wall [95%] |
|---|---:|---:|---:|---:|---:|---:|
{per}

Mean over domains, RL − SFT+ (FLOPs-matched): sampled {C.ci(cmp_['rl_minus_sft_flops']['sampled']['mean'])},
greedy {C.ci(cmp_['rl_minus_sft_flops']['greedy']['mean'])}; RL − SFT+ (wall-matched): sampled
{C.ci(cmp_['rl_minus_sft_wall']['sampled']['mean'])}, greedy {C.ci(cmp_['rl_minus_sft_wall']['greedy']['mean'])}.

![RL vs more SFT](rl_vs_sft.png)
"""


if __name__ == "__main__":
    raise SystemExit(main())
