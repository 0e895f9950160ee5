"""Official metrics: each benchmark scored the way its authors score it.

A :class:`Metric` has three parts, because published evaluation code has three:
- ``parse``: the benchmark's rule for reading an answer out of free text (used when the
  response has no box; the LLM parser comes after it, never a random guess);
- ``score``: the per-sample rule on one extracted answer (OCRBench containment, ChartQA relaxed
  accuracy, MMMU's number normalisation, IoU ≥ 0.5 …). Where rules cannot settle it, the
  verdict hands the answer on: to a reward-system verifier (``verify``: symbolic maths, or
  exact-then-judge text) or to the graded judge (``grade``: MM-Vet's 0–1 score);
- ``aggregate``: the benchmark-level numbers that are not a mean over samples (MMBench circular
  accuracy, HallusionBench qAcc/fAcc, We-Math's four dimensions, DynaMath worst case, …).

Metrics are looked up by the name an :class:`EvalItem` carries in ``metric``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from thinkvl.eval.benchmarks.base import LETTERS, EvalItem


@dataclass
class Verdict:
    """One sample's official score. ``verify`` names a reward domain that decides instead
    (its judge included); ``grade`` asks the graded judge (score in [0, 1])."""

    score: float
    correct: bool
    reason: str = ""
    flags: tuple[str, ...] = ()
    verify: str | None = None
    reference: Any = None  # what the verifier/judge compares with (default: item.answer)
    grade: bool = False
    missing: bool = False  # the judge failed: not scored, reported (never a silent 0)


@dataclass(frozen=True)
class Metric:
    name: str
    score: Callable[[EvalItem, str], Verdict]
    parse: Callable[[EvalItem, str], str | None]
    aggregate: Callable[[list[tuple[EvalItem, Any]]], dict[str, float]] | None = None
    description: str = ""


METRICS: dict[str, Metric] = {}


def register_metric(name: str, score: Callable[[EvalItem, str], Verdict],
                    parse: Callable[[EvalItem, str], str | None] | str = "text",
                    aggregate: Callable | None = None, description: str = "") -> Metric:
    """Add a metric; ``parse`` may name a rule kind of :mod:`thinkvl.eval.parsing`."""
    if isinstance(parse, str):
        parse = kind_parser(parse)
    metric = Metric(name, score, parse, aggregate, description)
    METRICS[name] = metric
    return metric


def get_metric(name: str) -> Metric:
    _load_all()
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}") from None


def options_of(item: EvalItem) -> dict[str, str]:
    """{letter: text} from ``meta["choices"]`` (list) or ``meta["options"]`` (dict or list)."""
    opts = item.meta.get("choices") or item.meta.get("options") or []
    if isinstance(opts, dict):
        return {str(k).strip().upper(): str(v) for k, v in opts.items()}
    return {LETTERS[i]: str(v) for i, v in enumerate(list(opts)[:26])}


def kind_parser(kind: str) -> Callable[[EvalItem, str], str | None]:
    from thinkvl.eval.parsing import rule_parse

    def parse(item: EvalItem, region: str) -> str | None:
        return rule_parse(kind, region, options_of(item) if kind == "choice" else None)

    parse.__name__ = f"parse_{kind}"
    return parse


def right(reason: str = "", score: float = 1.0, **kw: Any) -> Verdict:
    return Verdict(score, True, reason, **kw)


def wrong(reason: str = "", **kw: Any) -> Verdict:
    return Verdict(0.0, False, reason, **kw)


@dataclass
class Tally:
    """Counts for one aggregate slice (e.g. one circular group, one figure)."""

    n: int = 0
    right: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, ok: bool) -> None:
        self.n += 1
        self.right += bool(ok)

    @property
    def all_right(self) -> bool:
        return self.n > 0 and self.right == self.n


def ok(sample: Any) -> bool:
    """A sample counts as right for an aggregate only when scored and correct (a missing
    judgement or failed generation is not right; aggregates report how many were missing)."""
    return bool(getattr(sample, "correct", False)) and not getattr(sample, "missing", False) \
        and not getattr(sample, "error", None)


def rate(num: float, den: float) -> float:
    return round(num / den, 6) if den else 0.0


_LOADED = False


def _load_all() -> None:
    """Import every metric module once (they register themselves)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    from thinkvl.eval.metrics import choice, docs, math, spatial, text  # noqa: F401
