"""Shared pieces of the official-metric tests: items with a metric, and the sample fields the
aggregates read. A uniquely named module, not conftest, so other folders cannot shadow it."""

from dataclasses import dataclass, field

from thinkvl.eval.benchmarks import OPEN, EvalItem
from thinkvl.eval.metrics import get_metric

P = [{"role": "user", "content": [{"type": "text", "text": "q"}]}]


def item(answer, metric, family=OPEN, iid="x", categories=None, **meta):
    return EvalItem(id=iid, bench="t", family=family, domain="vqa", prompt=P, answer=answer,
                    question="q?", meta=meta, metric=metric, categories=categories or {})


def score(it, pred):
    return get_metric(it.metric).score(it, pred)


@dataclass
class S:  # what aggregates read of a sample
    correct: bool
    score: float = 0.0
    missing: bool = False
    error: str | None = None
    prediction: str | None = "x"
    flags: list = field(default_factory=list)
