"""Issue 20: 1 MB responses, pathological marker patterns and random junk against every domain.

Nothing raises, every score is in [0, 1], nothing earns reward by breaking the parser, and no
item reaches the per-item limit. The limit is raised to 30 s here on purpose: a quadratic path
takes minutes at 1 MB and still runs into it, while a busy CI machine (the slowest item took
0.5 s at a load of 10 on 2 cores, against the default 1 s) does not. ``bench/reward_fuzz.py``
runs 100,000 items under the default limit and reports the slowest.
"""

from __future__ import annotations

import math

from thinkvl.rewards import RewardSystem
from thinkvl.rewards.audit import GullibleJudge
from thinkvl.rewards.config import default_config
from thinkvl.rewards.fuzz import fuzz_items, pathological_items


def _check(results) -> None:
    for r in results:
        assert 0.0 <= r.score <= 1.0 and not math.isnan(r.score), r
        assert "verifier_error" not in r.flags, r.reason
        assert "timeout" not in r.flags, r.reason


def _config():
    cfg = default_config()
    cfg.limits.item_timeout_s = 30.0  # see the module notes
    return cfg


def test_pathological_megabyte_responses_in_every_domain():
    cfg = _config()
    items = list(pathological_items(cfg))
    probes = [item.pop("probe") for item in items]
    with RewardSystem(cfg, judge=GullibleJudge()) as rs:
        results = rs.score_batch(items)
        _check(results)
        assert rs.summary()["limits"]["timeouts"] == 0  # every item well inside its 1 s limit
    for probe, item, r in zip(probes, items, results):
        # the parser-breaking patterns never produce a gradable answer
        if probe not in ("huge_think", "huge_answer_text"):
            assert r.score == 0.0, (probe, item["domain"], r.reason)


def test_random_responses_in_every_domain():
    cfg = _config()
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
