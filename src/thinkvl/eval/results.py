"""Evaluation results: per-sample records, counts per slice, and a benchmark's official numbers.

Every slice (overall, per domain, per group, per category of each breakdown the benchmark
defines) reports accuracy and mean score over *scored* samples beside the invalid, truncated,
forced and judge-failure counts over all of them; ``official`` holds the benchmark-level
numbers its authors publish that are not a plain mean (circular accuracy, qAcc/fAcc, …).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from thinkvl.eval.benchmarks import EvalItem


@dataclass
class Metrics:
    """Counts and rates of one slice. ``accuracy`` and ``score`` are over *scored* samples
    (judge failures are missing, not wrong); ``invalid_rate`` is over all samples."""

    n: int = 0
    scored: int = 0
    correct: int = 0
    score_sum: float = 0.0
    invalid: int = 0
    truncated: int = 0
    forced: int = 0
    judge_failed: int = 0
    failed: int = 0  # generation failed (server errors); retried by the next run

    @property
    def accuracy(self) -> float:
        return self.correct / self.scored if self.scored else 0.0

    @property
    def score(self) -> float:
        return self.score_sum / self.scored if self.scored else 0.0

    @property
    def invalid_rate(self) -> float:
        return self.invalid / self.n if self.n else 0.0

    def add(self, s: SampleResult) -> None:
        self.n += 1
        if s.error:
            self.failed += 1
            return
        self.truncated += s.truncated
        self.forced += s.forced
        self.invalid += s.invalid
        self.judge_failed += s.judge_failed
        if not s.missing:
            self.scored += 1
            self.correct += s.correct
            self.score_sum += s.score

    def to_dict(self) -> dict[str, Any]:
        n = max(self.n, 1)
        return {"n": self.n, "scored": self.scored, "accuracy": round(self.accuracy, 6),
                "score": round(self.score, 6), "invalid_rate": round(self.invalid_rate, 6),
                "invalid": self.invalid, "truncated_rate": round(self.truncated / n, 6),
                "forced_rate": round(self.forced / n, 6),
                "judge_failed": self.judge_failed, "failed": self.failed}


@dataclass
class SampleResult:
    id: str
    bench: str
    mode: str
    domain: str
    group: str
    family: str
    answer: Any
    text: str
    prediction: str | None
    method: str  # box | rule | llm | none
    score: float
    correct: bool
    invalid: bool
    missing: bool
    truncated: bool
    forced: bool
    judge_failed: bool
    reason: str
    flags: list[str] = field(default_factory=list)
    tokens: int | None = None
    key: str = ""
    error: str | None = None
    categories: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EvalResult:
    """One benchmark in one mode: overall and per-domain / per-group metrics, and the samples."""

    bench: str
    mode: str
    overall: Metrics
    by_domain: dict[str, Metrics]
    by_group: dict[str, Metrics]
    samples: list[SampleResult]
    settings: dict[str, Any]
    generated: int = 0  # predictions made by this call (the rest came from the store)
    seconds: float = 0.0
    by_category: dict[str, dict[str, Metrics]] = field(default_factory=dict)
    official: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return self.overall.accuracy

    @property
    def invalid_rate(self) -> float:
        return self.overall.invalid_rate

    def to_dict(self, samples: bool = False) -> dict[str, Any]:
        out = {"bench": self.bench, "mode": self.mode, "overall": self.overall.to_dict(),
               "by_domain": {k: v.to_dict() for k, v in sorted(self.by_domain.items())},
               "by_group": {k: v.to_dict() for k, v in sorted(self.by_group.items())},
               "by_category": {dim: {k: v.to_dict() for k, v in sorted(vals.items())}
                               for dim, vals in sorted(self.by_category.items())},
               "official": self.official, "skipped": self.skipped,
               "settings": self.settings, "generated": self.generated,
               "seconds": round(self.seconds, 3)}
        if samples:
            out["samples"] = [s.to_dict() for s in self.samples]
        return out


def _values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def aggregate(items: list[EvalItem], samples: list[SampleResult]
              ) -> tuple[Metrics, dict[str, Metrics], dict[str, Metrics],
                         dict[str, dict[str, Metrics]]]:
    """Overall, per domain, per group and per category value (an item with several values
    of one breakdown, e.g. MathVista skills, counts in each)."""
    overall, by_domain, by_group = Metrics(), defaultdict(Metrics), defaultdict(Metrics)
    by_cat: dict[str, dict[str, Metrics]] = defaultdict(lambda: defaultdict(Metrics))
    for item, s in zip(items, samples):
        overall.add(s)
        by_domain[s.domain].add(s)
        by_group[s.group].add(s)
        for dim, value in item.categories.items():
            for v in _values(value):
                if v:
                    by_cat[dim][v].add(s)
    return overall, dict(by_domain), dict(by_group), {k: dict(v) for k, v in by_cat.items()}


def official_numbers(items: list[EvalItem], samples: list[SampleResult]) -> dict[str, float]:
    """The official benchmark-level numbers of the items' metric(s) that define them."""
    from thinkvl.eval.metrics import get_metric

    by_metric: dict[str, list] = defaultdict(list)
    for item, s in zip(items, samples):
        if item.metric:
            by_metric[item.metric].append((item, s))
    out: dict[str, float] = {}
    with_agg = {m: pairs for m, pairs in by_metric.items() if get_metric(m).aggregate}
    for name, pairs in with_agg.items():
        got = get_metric(name).aggregate(pairs)
        prefix = f"{name}." if len(with_agg) > 1 else ""
        out.update({f"{prefix}{k}": v for k, v in got.items()})
    return out
