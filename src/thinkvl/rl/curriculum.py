"""RLCS: curriculum sampling by difficulty tier, re-weighted every step, within domain quotas.

Each prompt's pass rate starts from its offline grade (pass@k from ``thinkvl rl grade``) and is
tracked online as an EMA of its rollouts' accuracy. Pass rates map to tiers; prompts that are
too easy (pass ≈ 1) or currently too hard (pass ≈ 0) carry little GRPO signal and are
down-weighted, mid-difficulty ones boosted. Domains are mixed in configured proportions.
The sampler's RNG and every pass rate are checkpoint state, so a resumed run draws the same
prompts an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

TIERS = ("very_easy", "easy", "medium", "hard", "very_hard", "unseen")
# Lower pass-rate bound of each graded tier, from easiest to hardest.
TIER_FLOORS = (("very_easy", 0.9), ("easy", 0.7), ("medium", 0.3), ("hard", 0.1), ("very_hard", 0.0))
DEFAULT_TIER_WEIGHTS = {"very_easy": 0.1, "easy": 0.6, "medium": 1.0, "hard": 0.6, "very_hard": 0.15,
                        "unseen": 1.0}


def tier_of(pass_rate: float | None) -> str:
    if pass_rate is None or np.isnan(pass_rate):
        return "unseen"
    for name, floor in TIER_FLOORS:
        if pass_rate >= floor:
            return name
    return "very_hard"


@dataclass
class CurriculumSettings:
    enabled: bool = True  # False: uniform sampling within domain quotas (the baseline)
    pass_ema: float = 0.5  # weight of the old estimate when a prompt's rollouts come in
    tier_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIER_WEIGHTS))
    domain_mix: dict[str, float] = field(default_factory=dict)  # empty: proportional to data


class Curriculum:
    """Draws each step's prompts and keeps per-prompt pass-rate estimates."""

    def __init__(self, ids: Sequence[str], domains: Sequence[str], offline: Sequence[float | None],
                 settings: CurriculumSettings, seed: int = 0):
        if not ids:
            raise ValueError("the RL prompt set is empty")
        if len(set(ids)) != len(ids):
            raise ValueError("RL prompt ids must be unique")
        unknown = set(settings.tier_weights) - set(TIERS)
        if unknown:
            raise ValueError(f"unknown curriculum tier(s) {sorted(unknown)}; expected {list(TIERS)}")
        self.settings = settings
        self.ids = np.array(ids, dtype=object)
        self.index = {pid: i for i, pid in enumerate(ids)}
        self.domain_of = np.array(domains, dtype=object)
        self.pass_rate = np.array([np.nan if p is None else float(p) for p in offline], dtype=float)
        self.rng = np.random.default_rng(seed)
        present = sorted(set(domains))
        mix = settings.domain_mix or {d: float((self.domain_of == d).sum()) for d in present}
        missing = [d for d in mix if d not in present and mix[d] > 0]
        if missing:
            raise ValueError(f"domain_mix names domains with no prompts: {missing}; data has {present}")
        total = sum(v for d, v in mix.items() if d in present)
        if total <= 0:
            raise ValueError("domain_mix gives no weight to any domain present in the data")
        self.mix = {d: mix.get(d, 0.0) / total for d in present if mix.get(d, 0.0) > 0}
        self.members = {d: np.flatnonzero(self.domain_of == d) for d in self.mix}

    # --- sampling -----------------------------------------------------------------------
    def tiers(self, idx: np.ndarray) -> list[str]:
        return [tier_of(p) for p in self.pass_rate[idx]]

    def weights(self, idx: np.ndarray) -> np.ndarray:
        """Per-prompt sampling weights from current tiers (recomputed at every draw)."""
        if not self.settings.enabled:
            return np.ones(len(idx))
        table = {**DEFAULT_TIER_WEIGHTS, **self.settings.tier_weights}
        return np.array([table[t] for t in self.tiers(idx)], dtype=float)

    def quotas(self, n: int) -> dict[str, int]:
        """Split ``n`` prompts over domains by the mix (largest remainders, random tie-break)."""
        raw = {d: n * w for d, w in self.mix.items()}
        counts = {d: int(np.floor(v)) for d, v in raw.items()}
        left = n - sum(counts.values())
        order = sorted(raw, key=lambda d: (-(raw[d] - counts[d]), self.rng.random()))
        for d in order[:left]:
            counts[d] += 1
        return counts

    def sample(self, n: int) -> list[str]:
        """Draw ``n`` prompt ids (without repeats inside a domain unless it has too few)."""
        chosen: list[int] = []
        for domain, k in self.quotas(n).items():
            if k == 0:
                continue
            idx = self.members[domain]
            w = self.weights(idx)
            if w.sum() <= 0:
                w = np.ones(len(idx))
            replace = k > int((w > 0).sum())
            picks = self.rng.choice(idx, size=k, replace=replace, p=w / w.sum())
            chosen.extend(int(i) for i in picks)
        return [str(self.ids[i]) for i in chosen]

    def tier_mix(self, ids: Sequence[str]) -> dict[str, float]:
        tiers = self.tiers(np.array([self.index[i] for i in ids], dtype=int))
        return {t: tiers.count(t) / max(1, len(tiers)) for t in TIERS if t in tiers}

    # --- online difficulty --------------------------------------------------------------
    def update(self, pid: str, accuracy: float) -> None:
        """Fold one step's accuracy of ``pid``'s rollouts into its pass-rate EMA."""
        i = self.index[pid]
        old = self.pass_rate[i]
        a = self.settings.pass_ema
        self.pass_rate[i] = accuracy if np.isnan(old) else a * old + (1.0 - a) * accuracy

    # --- checkpoint ----------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"pass_rate": [None if np.isnan(p) else float(p) for p in self.pass_rate],
                "ids": list(map(str, self.ids)), "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        if list(map(str, self.ids)) != state["ids"]:
            raise ValueError("the checkpoint's curriculum was built over a different prompt set; "
                             "resume with the same RL data")
        self.pass_rate = np.array([np.nan if p is None else p for p in state["pass_rate"]], dtype=float)
        self.rng.bit_generator.state = state["rng"]
