"""Benchmark: HF-backend evaluation throughput on the tiny model, batched vs one at a time.

Builds the tiny GLM-4.1V model and a synthetic world, then generates (greedy, force-answering
on) every item of ``rl_eval.jsonl`` with each batch size in ``--batch-sizes``, with an
in-memory prediction store so nothing is reused between runs. Scoring is timed separately.
Optionally (``--server``) the same items go through the OpenAI-compatible backend against the
local ``thinkvl.eval.serve`` server (one generation at a time server-side).

    PYTHONPATH=src python bench/eval_throughput.py                       # 128 items, batch 32 vs 1
    PYTHONPATH=src python bench/eval_throughput.py --per-domain 8 --batch-sizes 1,8,32 --server
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-domain", type=int, default=64,
                    help="world size; rl_eval holds max(N // 4, 16) items per domain (8 domains)")
    ap.add_argument("--batch-sizes", default="32,1")
    ap.add_argument("--think-budget", type=int, default=32)
    ap.add_argument("--answer-budget", type=int, default=16)
    ap.add_argument("--limit", type=int, default=None, help="evaluate only the first N items")
    ap.add_argument("--server", action="store_true", help="also time the OpenAI-compatible path")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads (default: torch's; 1 is faster on a busy machine)")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from thinkvl.data.synthetic import generate_world
    from thinkvl.eval.backends.hf import HFBackend
    from thinkvl.eval.backends.openai import OpenAIBackend
    from thinkvl.eval.benchmarks import load_benchmark
    from thinkvl.eval.config import GenerationSettings, OpenAISettings, VisionSettings
    from thinkvl.eval.runner import generate_missing, score_items
    from thinkvl.eval.scoring import Scorer
    from thinkvl.eval.store import PredictionStore
    from thinkvl.model.factory import build_tiny, load_model, load_processor

    gen = GenerationSettings(think_budget=args.think_budget, answer_budget=args.answer_budget)
    vision = VisionSettings()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_world(root / "world", per_domain=args.per_domain, seed=0, progress=False)
        model_dir = build_tiny(root / "tiny", seed=0)
        model, processor = load_model(model_dir).eval(), load_processor(model_dir)
        items = load_benchmark(f"synthetic:{root / 'world'}", limit=args.limit).items
        rows = []

        def timed(label: str, backend, batch: int | None) -> PredictionStore:
            store = PredictionStore(None)
            t0 = time.perf_counter()
            keys, made, errors = generate_missing(backend, items, "think", gen, vision, store)
            dt = time.perf_counter() - t0
            assert made == len(items) and not errors, (made, errors)
            tokens = sum(store.get(k)["tokens"] or 0 for k in keys)
            rows.append({"path": label, "batch_size": batch, "items": len(items),
                         "seconds": round(dt, 2), "samples_per_s": round(len(items) / dt, 2),
                         "new_tokens_per_s": round(tokens / dt, 1)})
            print(json.dumps(rows[-1]), flush=True)
            return store

        store = None
        for bs in (int(b) for b in args.batch_sizes.split(",")):
            store = timed("hf", HFBackend(model, processor, vision, batch_size=bs), bs)
        scorer = Scorer()
        keys, _, _ = generate_missing(HFBackend(model, processor, vision, batch_size=64), items,
                                      "think", gen, vision, store)
        t0 = time.perf_counter()
        score_items(items, keys, store, scorer, "think")
        dt = time.perf_counter() - t0
        scorer.close()
        print(json.dumps({"path": "scoring", "items": len(items), "seconds": round(dt, 3),
                          "samples_per_s": round(len(items) / dt, 1)}), flush=True)
        if args.server:
            from thinkvl.eval.serve import start_server

            with start_server(model, processor) as srv:
                timed("openai-server", OpenAIBackend(srv.url, OpenAISettings(concurrency=8)), None)
        print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, think budget "
              f"{args.think_budget} + answer {args.answer_budget} tokens, greedy")


if __name__ == "__main__":
    main()
