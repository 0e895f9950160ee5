"""Small run folders in the documented file formats (DESIGN.md), written without any trainer.

The report reads files only, so its tests write the files: an RL run with metrics, rollouts
(images, a video frame folder, a hostile response, suspicious rewards), a demo folder around it,
and an eval folder. ``python tests/report/report_runfolders.py OUT`` writes the demo for a look.
"""

from __future__ import annotations

import json
import math
import random
import zlib
from pathlib import Path

from PIL import Image, ImageDraw

DOMAINS = ("chart", "counting", "grounding", "ocr", "video")
XSS = "<script>alert(1)</script>"


def _image(path: Path, seed: int, kind: str) -> None:
    rng = random.Random(seed)
    img = Image.new("RGB", (64, 64), (245, 245, 240))
    d = ImageDraw.Draw(img)
    if kind == "chart":
        for i in range(4):
            h = rng.randint(8, 50)
            d.rectangle([6 + i * 14, 60 - h, 16 + i * 14, 60], fill=(59, 111, 216))
    elif kind == "ocr":
        d.text((6, 24), "".join(rng.choice("ABCXYZ") for _ in range(5)), fill=(20, 20, 20))
    else:
        for _ in range(rng.randint(1, 4)):
            x, y = rng.randint(2, 48), rng.randint(2, 48)
            d.rectangle([x, y, x + 12, y + 12], fill=(214, 69, 93))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def _response(rng: random.Random, answer: str, correct: bool, think: int) -> str:
    words = " ".join(
        rng.choice(["look", "count", "the", "bars", "left", "so", "then"]) for _ in range(think)
    )
    final = answer if correct else str(rng.randint(0, 9))
    return f"<think>{words}</think><answer>It is <|begin_of_box|>{final}<|end_of_box|></answer>"


def make_rl_run(
    root: Path,
    steps: int = 12,
    prompts: int = 3,
    group: int = 4,
    domains: tuple[str, ...] = DOMAINS,
    rollouts: bool = True,
    seed: int = 0,
) -> Path:
    """An RL run folder with every file the trainer writes; learning curves rise per domain."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    media = root.parent / "world" / "media"
    tiers = ("very_easy", "easy", "medium", "hard", "very_hard")
    with (root / "metrics.jsonl").open("w") as mf:
        for step in range(1, steps + 1):
            doms, records = {}, []
            for di, dom in enumerate(domains):
                p_ok = min(0.95, 0.15 + 0.6 * step / steps + 0.05 * di)
                for p in range(prompts):
                    pid = f"{dom}-{(step * 7 + p) % 40:04d}"
                    if dom == "video":
                        ref = media / f"{pid}_frames"
                        for f in range(4):
                            if not (ref / f"{f:03d}.png").exists():
                                _image(
                                    ref / f"{f:03d}.png", zlib.crc32(pid.encode()) + f, "counting"
                                )
                    else:
                        ref = media / f"{pid}.png"
                        if not ref.exists():
                            _image(ref, zlib.crc32(pid.encode()), dom)
                    answer = str((step + p) % 5)
                    for g in range(group):
                        ok = rng.random() < p_ok
                        think = rng.randint(15, 40)
                        flags: list[str] = []
                        response = _response(rng, answer, ok, think)
                        reward: float | None = 1.0 if ok else 0.0
                        if dom == "ocr":
                            reward = (
                                round(rng.uniform(0.5, 1.0), 2)
                                if ok
                                else round(rng.uniform(0, 0.4), 2)
                            )
                        if (
                            dom == "counting" and g == 0 and p == 0
                        ):  # a hedge that still earns reward
                            flags, reward, ok = ["hedged"], 1.0, True
                            response = (
                                "<think>maybe</think><answer><|begin_of_box|>between 0 and 10"
                                "<|end_of_box|></answer>"
                            )
                        if dom == "chart" and g == 1 and p == 0:
                            flags, reward, ok = ["judge_failed"], None, None
                        if dom == "grounding" and g == 0 and p == 1:
                            response, think, ok, reward = XSS + response, 1, True, 1.0
                        records.append(
                            {
                                "step": step,
                                "prompt_id": pid,
                                "domain": dom,
                                "response": response,
                                "reward": reward,
                                "correct": ok,
                                "extracted": answer if ok else "7",
                                "flags": flags,
                                "reason": "exact match" if ok else "mismatch",
                                "tokens": think + 12,
                                "think_tokens": think,
                                "forced": think > 38,
                                "truncated": False,
                                "group": di * prompts + p,
                                "advantage": round(rng.uniform(-1, 1), 3),
                                "kept": rng.random() < 0.7,
                                "media": [str(ref)],
                                "answer": answer,
                            }
                        )
                rs = [r for r in records if r["domain"] == dom]
                doms[dom] = {
                    "reward": sum(r["reward"] or 0 for r in rs) / len(rs),
                    "accuracy": sum(bool(r["correct"]) for r in rs) / len(rs),
                    "all_correct": rng.uniform(0, p_ok * 0.5),
                    "all_wrong": rng.uniform(0, (1 - p_ok) * 0.5),
                    "response_tokens": sum(r["tokens"] for r in rs) / len(rs),
                    "think_tokens": sum(r["think_tokens"] for r in rs) / len(rs),
                    "force_answer_rate": sum(r["forced"] for r in rs) / len(rs),
                    "truncated_rate": 0.0,
                    "format_error_rate": rng.uniform(0, 0.05),
                    "judge_failures": sum(r["reward"] is None for r in rs),
                    "groups": prompts,
                }
            mix = [math.exp(-((i - 2 + step / steps) ** 2)) for i in range(len(tiers))]
            metrics = {
                "step": step,
                "domains": doms,
                "reward": sum(d["reward"] for d in doms.values()) / len(doms),
                "accuracy": sum(d["accuracy"] for d in doms.values()) / len(doms),
                "prompts_drawn": prompts * len(domains),
                "groups_kept": prompts * len(domains) - 2,
                "samples_trained": 40,
                "no_signal_rate": 0.5 - 0.2 * step / steps,
                "expansion": 2.0 - 0.6 * step / steps,
                "tier_mix": {t: m / sum(mix) for t, m in zip(tiers, mix)},
                "force_answer_rate": 0.05,
                "response_tokens": 40.0,
                "seconds": {
                    "rollout": 1.2 + rng.random(),
                    "reward": 0.2,
                    "update": 0.6,
                    "sync": 0.05,
                    "step": 2.4,
                },
                "totals": {
                    "rollouts": step * 60,
                    "tokens": step * 2400,
                    "prompts": step * 15,
                    "seconds": step * 2.4,
                },
            }
            if step != 4:  # a step with nothing to train has no optimiser statistics
                metrics.update(
                    {
                        "clip_fraction": 0.02 + 0.01 * rng.random(),
                        "entropy": 1.5 - step / steps,
                        "kl": 0.0,
                        "grad_norm": 0.8 + rng.random(),
                        "loss": rng.uniform(-0.1, 0.1),
                        "lr": 5e-5,
                    }
                )
            mf.write(json.dumps(metrics) + "\n")
            if rollouts:
                folder = root / "rollouts"
                folder.mkdir(exist_ok=True)
                (folder / f"step_{step:06d}.jsonl").write_text(
                    "".join(json.dumps(r) + "\n" for r in records)
                )
    before = {
        "accuracy": {d: 0.2 + 0.05 * i for i, d in enumerate(domains)},
        "mean_accuracy": 0.3,
        "invalid_rate": {d: 0.1 for d in domains},
        "n": {d: 32 for d in domains},
    }
    after = {
        "accuracy": {d: 0.55 + 0.07 * i for i, d in enumerate(domains)},
        "mean_accuracy": 0.69,
        "invalid_rate": {d: 0.02 for d in domains},
        "n": {d: 32 for d in domains},
        "note": "unknown extra key",
    }
    (root / "summary.json").write_text(
        json.dumps(
            {
                "steps": steps,
                "rollouts": steps * 60,
                "tokens_generated": steps * 2400,
                "prompts": steps * 15,
                "train_seconds": steps * 2.4,
                "wall_seconds": steps * 2.4 + 9,
                "final_expansion": 1.4,
                "final_model": str(root / "final"),
                "eval_before": before,
                "eval_after": after,
                "evals": {str(steps // 2): after},
                "heldout_gain": {"greedy": {"delta": 0.031, "low": -0.004, "high": 0.066},
                                 "sampled": None},
            }
        )
    )
    (root / "config.yaml").write_text(
        f"model: runs/demo/sft/final\nrl:\n  steps: {steps}\n"
        '  clip_high: 0.28\nnote: "<b>not bold</b>"\n'
    )
    return root


def _eval_metrics(n: int, acc: float, inv: float) -> dict:
    return {
        "n": n,
        "scored": n,
        "accuracy": acc,
        "score": acc + 0.02,
        "invalid_rate": inv,
        "invalid": int(n * inv),
        "truncated_rate": 0.01,
        "forced_rate": 0.02,
        "judge_failed": 0,
        "failed": 0,
    }


def make_eval_run(root: Path) -> Path:
    """A `thinkvl eval` folder: results.json as thinkvl.eval.report.write_run writes it."""
    root.mkdir(parents=True, exist_ok=True)
    results = []
    for bench, mode, n, acc, inv in (
        ("synthetic", "think", 120, 0.62, 0.03),
        ("synthetic", "direct", 120, 0.48, 0.08),
        ("mmmu_val", "think", 900, 0.41, 0.11),
    ):
        results.append(
            {
                "bench": bench,
                "mode": mode,
                "overall": _eval_metrics(n, acc, inv),
                "by_domain": {d: _eval_metrics(n // 5, acc, inv) for d in DOMAINS},
                "by_group": {d: _eval_metrics(n // 5, acc, inv) for d in DOMAINS},
                "settings": {
                    "model": "runs/demo/rl/final",
                    "backend": "hf",
                    "decoder": "transformers",
                    "generation": {
                        "temperature": 0.0,
                        "think_budget": 8192 if mode == "think" else 1024,
                    },
                },
                "generated": n,
                "seconds": 12.5,
            }
        )
    (root / "results.json").write_text(
        json.dumps(
            {"created": "2026-01-01T00:00:00", "results": results, "config": {"out": str(root)}}
        )
    )
    return root


def make_demo_run(root: Path, steps: int = 12) -> Path:
    make_rl_run(root / "rl", steps=steps)
    make_eval_run(root / "eval")
    (root / "summary.json").write_text(
        json.dumps(
            {
                "stages": {
                    "synth": {"seconds": 4.1, "records": 6000},
                    "pretrain": {"seconds": 31.0, "steps": 200},
                    "sft": {"seconds": 22.5},
                    "grade": {"seconds": 8.0},
                    "rl": {"seconds": 95.3},
                    "eval": {"seconds": 12.2},
                },
                "accuracy": {
                    "sft": {d: 0.3 + 0.04 * i for i, d in enumerate(DOMAINS)},
                    "rl": {d: 0.6 + 0.05 * i for i, d in enumerate(DOMAINS)},
                },
                "direct": {"sft": {d: 0.2 for d in DOMAINS}, "rl": {d: 0.35 for d in DOMAINS}},
                "rl": {
                    "steps": steps,
                    "rollouts": steps * 60,
                    "tokens_generated": steps * 2400,
                    "final_expansion": 1.4,
                },
                "audit": {"passed": False, "hackable": ["counting"]},
            }
        )
    )
    return root


if __name__ == "__main__":
    import sys

    print(make_demo_run(Path(sys.argv[1]), steps=int(sys.argv[2]) if len(sys.argv) > 2 else 24))
