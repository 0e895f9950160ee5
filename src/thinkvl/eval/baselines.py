"""Chance baselines for held-out accuracy on the synthetic world.

"Chance" is the best *constant* answer: each of the most frequent final answers in the SFT data
of a domain, given for every held-out record of that domain and scored by the reward system;
the best one's accuracy. It is a stricter bar than uniform guessing (a model that learned only
the answer prior reaches it without looking at the image).
"""

from __future__ import annotations

import collections
from pathlib import Path

from thinkvl.data.io import read_records
from thinkvl.format import extract_box, make_response
from thinkvl.rewards import RewardSystem


def best_constant_accuracy(sft_path: str | Path, eval_records: list[dict], rewards: RewardSystem | None = None,
                           candidates: int = 20) -> dict[str, float]:
    """Per domain of ``eval_records``: accuracy of the best constant answer among the
    ``candidates`` most frequent final answers of that domain in ``sft_path`` (chat records)."""
    rewards = rewards or RewardSystem()
    finals: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for rec in read_records(sft_path, kind="sft"):
        finals[rec["domain"]][extract_box(rec["messages"][-1]["content"])] += 1
    out = {}
    for domain, counts in finals.items():
        items = [r for r in eval_records if r["domain"] == domain]
        if not items:
            continue
        out[domain] = max(sum(rewards.score(make_response(c), r["answer"], domain).correct for r in items) / len(items)
                          for c, _ in counts.most_common(candidates))
    return out
