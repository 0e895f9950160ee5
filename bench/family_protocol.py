"""Is thinkvl's response protocol learnable by each family? A short SFT, then a format check.

Issue 18 asks that a short SFT on a one-domain world reach at least 90% well-formed answers with
exactly one box. For each family this builds its tiny random model (``thinkvl model init
--family``), runs SFT on the synthetic counting world (the protocol markers become tokens at
SFT start, ``Family.add_markers``), then decodes held-out prompts greedily in think mode and
counts the responses ``thinkvl.format.parse_response`` finds well formed (think block, answer
block, exactly one box, nothing outside). Answer accuracy is printed beside it, for context only
(the vision towers are random and frozen, as in the demo).

    PYTHONPATH=src python bench/family_protocol.py --out /tmp/protocol \\
        --families glm4v qwen2_5_vl llava_onevision --steps 60

Results go to ``<out>/protocol.json``; measured figures are in ``docs/experiments/family_protocol/``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # shared cores: spinning OpenMP threads stall

from thinkvl.data.synthetic import generate_world
from thinkvl.format import parse_response
from thinkvl.model.factory import build_tiny, load_model, load_processor
from thinkvl.model.families.tiny import build_tiny_family
from thinkvl.model.generate import generate
from thinkvl.model.settings import GenerationSettings
from thinkvl.rl.data import load_prompts
from thinkvl.train.sft import load_sft_config, run_sft


def measure(name: str, out: Path, world: Path, steps: int, n_eval: int, seed: int) -> dict:
    init = out / "init" / name
    if not (init / "config.json").exists():
        build_tiny(init, seed=seed) if name == "glm4v" else build_tiny_family(name, init, seed=seed)
    run = out / f"sft_{name}_{steps}"
    start = time.perf_counter()
    final = run / "final"
    if not (final / "config.json").exists():
        run_sft(load_sft_config("demo_sft", [
            f"model.path={init}", f"data.train={world / 'sft.jsonl'}", f"train.steps={steps}", "run.save_every=0",
            "data.seq_len=512", "data.max_image_tokens=256", f"run.out={run}", "run.progress=false",
            "run.sinks=[jsonl]", "train.packs_per_step=8", "train.micro_batch_packs=8"]))
    seconds = time.perf_counter() - start
    model, processor = load_model(final).eval(), load_processor(final)
    prompts = load_prompts(world / "rl_eval.jsonl")[:n_eval]
    done = generate(model, processor, [p.messages for p in prompts],
                    GenerationSettings(temperature=0.0, think_budget=96, answer_budget=32),
                    base_dirs=[p.base_dir for p in prompts], batch_size=32)
    parsed = [parse_response(c.text) for c in done]
    formed = sum(p.well_formed for p in parsed)
    correct = sum(p.box is not None and p.box.strip() == str(q.answer) for p, q in zip(parsed, prompts))
    return {"family": name, "sft_steps": steps, "sft_seconds": round(seconds, 1), "n": len(done),
            "well_formed": formed / len(done), "correct": correct / len(done),
            "problems": sorted({x for p in parsed for x in p.problems}), "example": done[0].text[:200]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--families", nargs="+", default=["glm4v", "qwen2_5_vl", "llava_onevision"])
    ap.add_argument("--per-domain", type=int, default=400, help="counting records in the world")
    ap.add_argument("--steps", type=int, default=60, help="SFT steps (8 rows of 512 tokens each)")
    ap.add_argument("--eval", type=int, default=64, help="held-out prompts decoded per family")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    world = args.out / "world"
    if not (world / "manifest.json").exists():
        generate_world(world, per_domain=args.per_domain, seed=args.seed, domains=["counting"], levels=(1, 2),
                       progress=False)
    results = []
    for name in args.families:
        row = measure(name, args.out, world, args.steps, args.eval, args.seed)
        results.append(row)
        print(f"{name:16s} steps {row['sft_steps']:4d}  SFT {row['sft_seconds']:6.1f} s  well-formed "
              f"{row['well_formed']:.1%}  correct {row['correct']:.1%}  problems {row['problems']}", flush=True)
    (args.out / "protocol.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
