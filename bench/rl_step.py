"""Seconds per RL step — rollout / reward / update — thinkvl vs TRL's ``GRPOTrainer``, same work.

Both systems get the same tiny GLM-4.1V-architecture model (random weights unless ``--model``),
the same image prompts from the synthetic world, the same group size, the same token budget
and one optimizer update per step on every rollout of the step:

* thinkvl: the RL trainer's own parts, in its order — ``engine.rollout`` (force-answering:
  ``think`` tokens, then ``</think><answer>`` and ``answer`` more), ``RewardSystem.score_batch``,
  GRPO advantages, ``Actor.update`` on *all* rollouts (zero advantages included, as TRL does).
* TRL: ``GRPOTrainer`` on CPU with ``max_completion_length = think + len(suffix) + answer``
  (TRL has no force-answering, so it gets the same token budget in one pass),
  ``num_generations = group``, ``generation_batch_size = prompts × group``, micro-batches of
  ``--micro-batch`` sequences accumulated into one update, the same reward function (the same
  ``RewardSystem.score_batch``), no KL (β = 0), clip-higher ε 0.2 / 0.28, the same sampling
  (temperature 1, top-p 1, the model's effective top-k). Gradient checkpointing, which TRL turns
  on by default, is switched off: thinkvl does not use it, and it would only slow TRL down.
  TRL's phases: rollout = ``_generate_and_score_completions`` minus the reward call (prompt
  processing, generation, vision inputs for the update), reward = ``_calculate_rewards``,
  update = the rest of the optimizer step (forwards, backwards, optimizer).

The two systems alternate step by step in one process (TRL's trainer runs a thinkvl step
after each of its own), after one warm-up step each; medians are reported. OpenMP threads wait
passively (``OMP_WAIT_POLICY=PASSIVE``, as the ``thinkvl`` command sets it): spinning threads
on a shared 2-core machine make every op wait for a scheduler slice and a step 5–15× slower.

    PYTHONPATH=src .venv/bin/python bench/rl_step.py --out /tmp/rl_step.json
    PYTHONPATH=src .venv/bin/python bench/rl_step.py --steps 2 --prompts 8 --skip-trl   # quick look
    PYTHONPATH=src .venv/bin/python bench/rl_step.py --skip-trl --mini-batches 2   # cost of k = 2
    PYTHONPATH=src .venv/bin/python bench/rl_step.py --vllm      # also rollout.engine=vllm

Target (RL issue): thinkvl's step at most 0.5× TRL's. Measured on 2 shared CPU cores (TRL 1.16):
0.43× with the default random tiny model (every rollout uses its full budget), 0.33× with
``--model`` pointing at a short-SFT tiny model (completions of varied length); before the
rollout/update rework, 1.05× and 0.79×.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

IMAGE_DOMAINS = ["counting", "chart", "ocr", "choice", "grounding", "gui"]
PHASES = ("rollout", "reward", "update")


def pick_prompts(prompts, k: int):
    """``k`` prompts, round-robin over domains (deterministic)."""
    by_domain: dict[str, list] = {}
    for p in prompts:
        by_domain.setdefault(p.domain, []).append(p)
    out, i = [], 0
    while len(out) < k:
        for d in sorted(by_domain):
            if i < len(by_domain[d]) and len(out) < k:
                out.append(by_domain[d][i])
        i += 1
    return out


def reward_items(prompts, texts, truncated=None):
    return [{"response": t, "answer": p.answer, "domain": p.domain, "question": p.question,
             "meta": {**p.meta, "truncated": bool(truncated[i]) if truncated else False}}
            for i, (p, t) in enumerate(zip(prompts, texts))]


# --- thinkvl ---------------------------------------------------------------------------------
class ThinkVL:
    def __init__(self, model_dir, prompts, args, engine: str = "hf"):
        from thinkvl.model.factory import load_model, load_processor
        from thinkvl.model.settings import GenerationSettings
        from thinkvl.rewards import RewardSystem
        from thinkvl.rl.actor import Actor
        from thinkvl.rl.rollout import make_engine

        self.prompts, self.n, self.mini_batches = prompts, args.group, args.mini_batches
        self.processor = load_processor(model_dir)
        model = load_model(model_dir)
        sampling = GenerationSettings(temperature=1.0, top_p=1.0, think_budget=args.think, answer_budget=args.answer)
        self.engine = make_engine(engine, model, self.processor, sampling, batch_size=args.rollout_batch,
                                  model_path=str(model_dir))
        self.rewards = RewardSystem()
        from thinkvl.rl.config import AlgoConfig
        from thinkvl.runtime.optim import RL_DEFAULTS, OptimConfig

        self.actor = Actor(model, self.processor.tokenizer.pad_token_id, AlgoConfig(micro_batch=args.micro_batch),
                           OptimConfig(**{**RL_DEFAULTS, "lr": args.lr}))

    def step(self) -> dict:
        from thinkvl.rl.advantage import grpo
        from thinkvl.rl.batch import split

        t = {}
        t0 = time.perf_counter()
        groups = self.engine.rollout(self.prompts, self.n)
        t1 = time.perf_counter()
        flat = [p for p in self.prompts for _ in range(self.n)]
        comps = [c for g in groups for c in g]
        results = self.rewards.score_batch(reward_items(flat, [c.text for c in comps],
                                                        [c.truncated for c in comps]))
        t2 = time.perf_counter()
        advs = []
        for g in range(len(groups)):
            advs += [a or 0.0 for a in grpo([r.reward for r in results[g * self.n:(g + 1) * self.n]])]
        numbers = [g for g, group in enumerate(groups) for _ in group]
        stats = self.actor.update(split([c.sample for c in comps], advs, numbers, self.mini_batches))
        self.engine.sync(self.actor.model)
        t3 = time.perf_counter()
        t.update(rollout=t1 - t0, reward=t2 - t1, update=t3 - t2, step=t3 - t0,
                 completion_tokens=sum(len(c.token_ids) for c in comps),
                 reward_mean=statistics.fmean(r.reward or 0.0 for r in results),
                 loss=stats["loss"])
        return t


# --- TRL -------------------------------------------------------------------------------------
def run_trl(model_dir, prompts, args, steps: int, out_dir: Path, between=None) -> list[dict]:
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from thinkvl.format import FORCE_ANSWER_SUFFIX
    from thinkvl.model.factory import load_model, load_processor
    from thinkvl.model.inputs import collect_media
    from thinkvl.rewards import RewardSystem

    processor = load_processor(model_dir)
    model = load_model(model_dir)
    suffix = len(processor.tokenizer(FORCE_ANSWER_SUFFIX, add_special_tokens=False)["input_ids"])
    top_k = model._prepare_generation_config(None)[0].top_k  # what HF generate samples with
    rows = []
    for p in prompts:
        media = collect_media(p.messages, p.base_dir)
        messages = [{"role": m["role"], "content": [
            {"type": "image"} if part.get("type") == "image" else {"type": "text", "text": part.get("text", "")}
            for part in m["content"]]} for m in p.messages]
        rows.append({"prompt": messages, "images": media.images, "answer": json.dumps(p.answer),
                     "domain": p.domain, "question": p.question})
    dataset = Dataset.from_list(rows)
    rewards = RewardSystem()

    def reward_fn(completions, answer, domain, question, **_):
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        items = [{"response": t, "answer": json.loads(a), "domain": d, "question": q, "meta": {}}
                 for t, a, d, q in zip(texts, answer, domain, question)]
        return [r.reward or 0.0 for r in rewards.score_batch(items)]

    total = args.prompts * args.group
    micro = min(args.micro_batch, total)
    if total % micro:
        raise SystemExit(f"TRL needs prompts x group ({total}) to be a multiple of --micro-batch ({micro})")
    cfg = GRPOConfig(
        output_dir=str(out_dir), use_cpu=True, bf16=False, seed=0, max_steps=steps,
        per_device_train_batch_size=micro, gradient_accumulation_steps=total // micro,
        generation_batch_size=total, num_generations=args.group,
        max_completion_length=args.think + suffix + args.answer,
        temperature=1.0, top_p=1.0, top_k=top_k or 0, beta=0.0, epsilon=0.2, epsilon_high=0.28,
        loss_type="grpo", learning_rate=args.lr, max_grad_norm=1.0, lr_scheduler_type="constant",
        gradient_checkpointing=False, logging_steps=1, report_to=[], save_strategy="no",
        disable_tqdm=True, dataloader_num_workers=0, shuffle_dataset=False, log_completions=False,
    )
    trainer = GRPOTrainer(model=model, reward_funcs=reward_fn, args=cfg, train_dataset=dataset,
                          processing_class=processor)
    times: list[dict] = []
    cur: dict = {}

    def wrap(name, fn):
        def inner(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                cur[name] = cur.get(name, 0.0) + time.perf_counter() - t0
        return inner

    trainer._generate_and_score_completions = wrap("gen_score", trainer._generate_and_score_completions)
    trainer._calculate_rewards = wrap("reward", trainer._calculate_rewards)

    class Clock(TrainerCallback):
        def on_step_begin(self, *a, **kw):
            cur.clear()
            cur["t0"] = time.perf_counter()

        def on_step_end(self, *a, **kw):
            step = time.perf_counter() - cur.pop("t0")
            gen = cur.get("gen_score", 0.0)
            reward = cur.get("reward", 0.0)
            times.append({"rollout": gen - reward, "reward": reward, "update": step - gen, "step": step})
            print(f"  trl     step {len(times)}: " + " ".join(f"{k} {v:.2f}s" for k, v in times[-1].items()),
                  flush=True)
            if between is not None:  # the other system's step, between two of TRL's (not timed here)
                between()

    trainer.add_callback(Clock())
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # no per-step log dicts on stdout
    torch.manual_seed(0)
    trainer.train()
    return times


# --- main ------------------------------------------------------------------------------------
def median_phases(rows: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in rows) for k in (*PHASES, "step")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="write JSON results here")
    ap.add_argument("--model", type=Path, default=None, help="model folder (default: a fresh tiny model)")
    ap.add_argument("--prompts", type=int, default=16, help="prompts per step (the demo's 16)")
    ap.add_argument("--group", type=int, default=8, help="rollouts per prompt")
    ap.add_argument("--think", type=int, default=40, help="think budget (demo: 40)")
    ap.add_argument("--answer", type=int, default=16, help="answer budget (demo: 16)")
    ap.add_argument("--micro-batch", type=int, default=64, help="sequences per forward/backward (demo: 64)")
    ap.add_argument("--rollout-batch", type=int, default=128, help="thinkvl rollout.batch_size")
    ap.add_argument("--mini-batches", type=int, default=1,
                    help="thinkvl rl.mini_batches (optimizer steps per rollout batch; TRL here always "
                         "makes one, so compare the two systems at 1)")
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--steps", type=int, default=6, help="measured steps per system (after a warm-up)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-trl", action="store_true")
    ap.add_argument("--vllm", action="store_true",
                    help="also time rollout.engine=vllm (in-process vLLM, its CPU build here) after the others")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from thinkvl.data.synthetic import generate_world
    from thinkvl.model.factory import build_tiny
    from thinkvl.rl.data import load_prompts

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_world(root / "world", per_domain=max(8, args.prompts), seed=0, domains=IMAGE_DOMAINS,
                       progress=False)
        model_dir = args.model or build_tiny(root / "tiny", seed=0)
        prompts = pick_prompts(load_prompts(root / "world" / "rl_train.jsonl"), args.prompts)
        print(f"{len(prompts)} image prompts x {args.group} rollouts, think {args.think} + answer "
              f"{args.answer} tokens, micro-batch {args.micro_batch}, {args.threads} threads, "
              f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}", flush=True)

        torch.manual_seed(0)
        ours = ThinkVL(model_dir, prompts, args)
        tv: list[dict] = []

        def thinkvl_step() -> None:
            tv.append(ours.step())
            print(f"  thinkvl step {len(tv)}: " + " ".join(
                f"{p} {tv[-1][p]:.2f}s" for p in (*PHASES, "step")), flush=True)

        # Warm-up (not counted), then the two systems take turns step by step: TRL's trainer
        # calls a thinkvl step after each of its own, so both see the same machine load.
        ours.step()
        trl = []
        if args.skip_trl:
            for _ in range(args.steps):
                thinkvl_step()
        else:
            trl = run_trl(model_dir, prompts, args, args.steps + 1, root / "trl", between=thinkvl_step)[1:]
            tv = tv[1:]  # pairs with TRL's warm-up step
        tvv: list[dict] = []
        if args.vllm:  # vLLM colocated: rollouts in the engine, weights synced after each update
            torch.manual_seed(0)
            ours_v = ThinkVL(model_dir, prompts, args, engine="vllm")
            ours_v.step()
            for _ in range(args.steps):
                tvv.append(ours_v.step())
                print(f"  vllm    step {len(tvv)}: " + " ".join(
                    f"{p} {tvv[-1][p]:.2f}s" for p in (*PHASES, "step")), flush=True)

    ours_m = median_phases(tv)
    import transformers

    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    if trl:
        import trl as trl_lib

        versions["trl"] = trl_lib.__version__
    result = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "versions": versions, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
              "torch_threads": torch.get_num_threads(),
              "thinkvl": {"median": ours_m, "steps": tv}}
    if tvv:
        import vllm

        versions["vllm"] = vllm.__version__
        result["thinkvl_vllm"] = {"median": median_phases(tvv), "steps": tvv}
    header = f"{'phase':<9}{'thinkvl s':>11}" + (f"{'TRL s':>10}{'ratio':>8}" if trl else "")
    print("\n" + header)
    if trl:
        trl_m = median_phases(trl)
        result["trl"] = {"median": trl_m, "steps": trl}
        result["ratio"] = {k: ours_m[k] / trl_m[k] if trl_m[k] else None for k in ours_m}
    for k in (*PHASES, "step"):
        line = f"{k:<9}{ours_m[k]:>11.2f}"
        if trl:
            line += f"{result['trl']['median'][k]:>10.2f}{result['ratio'][k]:>8.2f}"
        if tvv:
            line += f"   vllm {result['thinkvl_vllm']['median'][k]:.2f}"
        print(line)
    if trl:
        verdict = "meets" if result["ratio"]["step"] <= 0.5 else "misses"
        print(f"\nthinkvl / TRL per step: {result['ratio']['step']:.2f}x ({verdict} the 0.5x target)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
