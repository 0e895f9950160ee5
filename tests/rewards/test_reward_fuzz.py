"""Issue 20: 1 MB responses, pathological marker patterns and random junk against every domain.

Nothing raises, every score is in [0, 1], nothing earns reward by breaking the parser, and no
item reaches the per-item limit. The budget is generous on purpose: it catches a quadratic
path (minutes at 1 MB), not a slow machine. ``bench/reward_fuzz.py`` runs 100,000 items.
"""

from __future__ import annotations

import math
import time

from thinkvl.rewards import RewardSystem
from thinkvl.rewards.audit import GullibleJudge
from thinkvl.rewards.config import default_config
from thinkvl.rewards.fuzz import fuzz_items, pathological_items


def _check(results) -> None:
    for r in results:
        assert 0.0 <= r.score <= 1.0 and not math.isnan(r.score), r
        assert "verifier_error" not in r.flags, r.reason
        assert "timeout" not in r.flags, r.reason


def test_pathological_megabyte_responses_in_every_domain():
    cfg = default_config()
    items = list(pathological_items(cfg))
    probes = [item.pop("probe") for item in items]
    with RewardSystem(cfg, judge=GullibleJudge()) as rs:
        start = time.perf_counter()
        results = rs.score_batch(items)
        elapsed = time.perf_counter() - start
        _check(results)
        assert elapsed < 240, f"{len(items)} pathological items took {elapsed:.0f}s"
        assert rs.summary()["limits"]["timeouts"] == 0
    for probe, item, r in zip(probes, items, results):
        # the parser-breaking patterns never produce a gradable answer
        if probe not in ("huge_think", "huge_answer_text"):
            assert r.score == 0.0, (probe, item["domain"], r.reason)


def test_random_responses_in_every_domain():
    cfg = default_config()
    with RewardSystem(cfg, judge=GullibleJudge()) as rs:
        results = rs.score_batch(list(fuzz_items(cfg, 3000, seed=20)))
        _check([r for r in results if "timeout" not in r.flags or r.verifier != "math"])
        assert rs.summary()["limits"]["timeouts"] == 0


def test_correct_and_score_agree_on_fuzzed_responses():
    """Issue 20, finding 11: results with correct=True and score 0 (a penalty took the reward)
    were read as passes by the curriculum and dynamic sampling."""
    cfg = default_config()
    items = list(fuzz_items(cfg, 2000, seed=11))
    loop = "I think the answer is 3. Let me check again. " * 40
    items.append({"response": f"<think>{loop}</think><answer><|begin_of_box|>3<|end_of_box|>"
                  "</answer>", "answer": 3, "domain": "counting"})
    with RewardSystem(cfg, judge=GullibleJudge()) as rs:
        results = rs.score_batch(items)
    for r in results:
        if r.correct:
            assert r.score == 1.0 and "penalized" not in r.flags, r
        if "penalized" in r.flags:
            assert not r.correct
    assert "penalized" in results[-1].flags and not results[-1].correct
