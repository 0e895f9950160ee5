"""Offline difficulty for RLCS: pass@k of a model over the RL data, written beside the data.

Each prompt gets k sampled rollouts scored by the reward system; its pass rate (share correct)
seeds the curriculum's tier before training ever sees it. The sidecar file
``<data>.difficulty.jsonl`` (id, domain, pass_rate, tier, k, model) is what ``thinkvl rl`` reads.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from thinkvl.eval.heldout import first_per_domain
from thinkvl.model.settings import GenerationSettings
from thinkvl.rewards import RewardSystem
from thinkvl.rl.batch import Group, score_groups
from thinkvl.rl.curriculum import tier_of
from thinkvl.rl.data import difficulty_path, load_prompts
from thinkvl.rl.rollout.hf import HFRollout


def grade(model, processor, data_path: str | Path, settings: GenerationSettings, k: int = 8,
          rewards: RewardSystem | None = None, batch_prompts: int = 32, model_name: str = "",
          progress=None, per_domain: int | None = None) -> dict:
    """Write pass rates for the prompts of ``data_path`` (the first ``per_domain`` of each domain
    when given: the others start training as *unseen*); returns a summary (tier counts)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    prompts = first_per_domain(load_prompts(data_path), per_domain)
    rewards = rewards or RewardSystem()
    engine = HFRollout(model, processor, settings)
    rows = []
    for start in range(0, len(prompts), batch_prompts):
        chunk = prompts[start:start + batch_prompts]
        groups = [Group(p, c) for p, c in zip(chunk, engine.rollout(chunk, k), strict=True)]
        score_groups(rewards, groups)  # scored as training scores them (truncation included)
        for g in groups:
            scored = [r for r in g.results if not r.missing]
            rate = sum(r.correct for r in scored) / len(scored) if scored else None
            rows.append({"id": g.prompt.id, "domain": g.prompt.domain, "pass_rate": rate,
                         "tier": tier_of(rate), "k": k, "model": model_name})
        if progress is not None:
            progress(len(chunk))
    out = difficulty_path(data_path)
    tmp = out.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows if r["pass_rate"] is not None), encoding="utf-8")
    tmp.replace(out)
    tiers = Counter(r["tier"] for r in rows)
    by_domain: dict[str, list[float]] = {}
    for r in rows:
        if r["pass_rate"] is not None:
            by_domain.setdefault(r["domain"], []).append(r["pass_rate"])
    return {"path": str(out), "prompts": len(rows), "k": k, "rollouts": len(rows) * k, "tiers": dict(tiers),
            "pass_rate": {d: sum(v) / len(v) for d, v in sorted(by_domain.items())}}

