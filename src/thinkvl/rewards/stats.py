"""Running reward statistics per domain (what a trainer logs each step)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .result import RewardResult


@dataclass
class DomainStats:
    n: int = 0
    score_sum: float = 0.0
    correct: int = 0
    missing: int = 0
    flags: Counter = field(default_factory=Counter)

    def add(self, res: RewardResult) -> None:
        self.n += 1
        self.score_sum += res.score
        self.correct += res.correct
        self.missing += res.missing
        if res.flags:
            self.flags.update(res.flags)

    def summary(self) -> dict[str, Any]:
        n = max(self.n, 1)
        return {
            "n": self.n,
            "mean_score": self.score_sum / n,
            "accuracy": self.correct / n,
            "missing": self.missing,
            "flags": dict(self.flags),
        }


class Stats:
    """Counts per domain; ``summary()`` is JSON-ready, ``reset()`` starts a new step."""

    def __init__(self) -> None:
        self.domains: dict[str, DomainStats] = {}
        self.slowest_s = 0.0  # the slowest item's rule stage (format, guards, verifier)
        self.timeouts = 0  # items stopped (or measured) over limits.item_timeout_s

    def add_time(self, seconds: float) -> None:
        if seconds > self.slowest_s:
            self.slowest_s = seconds

    def timing(self) -> dict[str, Any]:
        return {"slowest_item_s": self.slowest_s, "timeouts": self.timeouts}

    def add(self, res: RewardResult) -> None:
        ds = self.domains.get(res.domain)
        if ds is None:
            ds = self.domains[res.domain] = DomainStats()
        ds.add(res)

    def add_many(self, results: list[RewardResult]) -> None:
        domains = self.domains
        for res in results:
            ds = domains.get(res.domain)
            if ds is None:
                ds = domains[res.domain] = DomainStats()
            ds.add(res)

    def reset(self) -> None:
        self.domains.clear()
        self.slowest_s = 0.0
        self.timeouts = 0

    def summary(self) -> dict[str, Any]:
        return {name: ds.summary() for name, ds in sorted(self.domains.items())}
