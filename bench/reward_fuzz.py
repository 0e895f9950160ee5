"""Reward fuzzing: 100,000 fuzzed responses over every domain, through ``RewardSystem``.

What a drifting or attacking policy may emit (``thinkvl.rewards.fuzz``): marker soup, truncation,
hedges, judge injections, mutations of the right answer, ~1 MB responses (0.2 %), malformed
references, plus every pathological 1 MB pattern (one marker repeated, deep nesting, power
towers, 5,000-digit numbers, …) once per domain. Judge domains run with the audit's gullible
judge, so the judge path is exercised too.

Reported: exceptions out of ``score_batch`` (must be 0), items scored by the ``verifier_error``
fallback (must be 0), scores outside [0, 1], ``correct`` with score 0, items stopped at or measured
over the per-item limit (``limits.item_timeout_s``; must be 0), the slowest item's rule stage,
math-verify items stopped at ``math.timeout_s`` (that limit working), and throughput.

    PYTHONPATH=src nice -n 10 .venv/bin/python bench/reward_fuzz.py            # 100,000 items
    PYTHONPATH=src .venv/bin/python bench/reward_fuzz.py --n 5000               # quick look
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from collections import Counter
from typing import Any

from thinkvl.rewards import RewardSystem
from thinkvl.rewards.audit import GullibleJudge
from thinkvl.rewards.config import default_config
from thinkvl.rewards.fuzz import fuzz_items, pathological_items


def run(n: int, seed: int, batch: int) -> dict[str, Any]:
    cfg = default_config()
    judge = GullibleJudge()
    stats: Counter[str] = Counter()
    per_domain: Counter[str] = Counter()
    errors: list[str] = []
    slowest_batch = 0.0
    with RewardSystem(cfg, judge=judge) as rs:
        rs.warmup()  # worker start-up is no item's time
        patho = list(pathological_items(cfg))
        for item in patho:
            item.pop("probe")
        items = itertools.chain(patho, fuzz_items(cfg, max(0, n - len(patho)), seed))
        start = time.perf_counter()
        while chunk := list(itertools.islice(items, batch)):
            t0 = time.perf_counter()
            try:
                results = rs.score_batch(chunk)
            except Exception as exc:  # noqa: BLE001 - counted: the bench fails on any
                stats["exceptions"] += len(chunk)
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
                continue
            slowest_batch = max(slowest_batch, time.perf_counter() - t0)
            for item, r in zip(chunk, results):
                stats["items"] += 1
                per_domain[r.domain] += 1
                stats["bytes"] += len(item["response"])
                if not 0.0 <= r.score <= 1.0 or math.isnan(r.score):
                    stats["score_out_of_range"] += 1
                if "verifier_error" in r.flags:
                    stats["verifier_error"] += 1
                    if len(errors) < 10:
                        errors.append(r.reason)
                if r.correct and r.score == 0:
                    stats["correct_with_zero_score"] += 1
                if r.score > 0:
                    stats["rewarded"] += 1
                if "timeout" in r.flags and r.verifier in ("math", "science") and \
                        "per-item limit" not in r.reason:
                    stats["math_timeouts"] += 1
        wall = time.perf_counter() - start
        limits = rs.summary()["limits"]
    return {
        "n": stats["items"], "seed": seed, "batch": batch, "wall_s": round(wall, 2),
        "items_per_s": round(stats["items"] / wall, 1), "mb_scored": round(stats["bytes"] / 1e6, 1),
        "exceptions": stats["exceptions"], "verifier_errors": stats["verifier_error"],
        "score_out_of_range": stats["score_out_of_range"],
        "correct_with_zero_score": stats["correct_with_zero_score"],
        "item_timeout_s": limits["item_timeout_s"], "over_item_limit": limits["timeouts"],
        "slowest_item_s": round(limits["slowest_item_s"], 4),
        "math_timeouts_at_math_limit": stats["math_timeouts"],
        "math_timeout_s": cfg.math.timeout_s, "slowest_batch_s": round(slowest_batch, 2),
        "rewarded": stats["rewarded"], "judge_calls": judge.calls,
        "pathological_items": len(patho), "per_domain": dict(sorted(per_domain.items())),
        "errors": errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    out = run(args.n, args.seed, args.batch)
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(text + "\n")
    ok = not (out["exceptions"] or out["verifier_errors"] or out["score_out_of_range"]
              or out["over_item_limit"] or out["correct_with_zero_score"])
    print("PASS" if ok else "FAIL", "-", f"{out['n']:,} items, {out['items_per_s']:,} items/s, "
          f"slowest item {out['slowest_item_s']} s (limit {out['item_timeout_s']} s)")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
