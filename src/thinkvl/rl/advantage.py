"""Advantage estimators, in a registry (GRPO's group normalisation is the default).

Each estimator maps a group's rewards (one prompt, n rollouts) to per-rollout advantages.
``None`` rewards are missing (a judge that failed): they get no advantage and are left out of
the group statistics, never counted as 0. A group whose present rewards are all equal carries no
signal, whatever their value: its advantages are exactly 0 (not the ~1e-11 that rounding in the
mean leaves, e.g. three rewards of 0.1 average to 0.10000000000000002), so such samples are
neither trained on nor counted as trained.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

Estimator = Callable[[Sequence[float | None]], list[float | None]]
ADVANTAGES: dict[str, Estimator] = {}


def register(name: str) -> Callable[[Estimator], Estimator]:
    def wrap(fn: Estimator) -> Estimator:
        ADVANTAGES[name] = fn
        return fn

    return wrap


# Rewards closer than this are one value computed twice (rewards lie in [0, 1]).
SAME_REWARD = 1e-9


def _present(rewards: Sequence[float | None]) -> list[float]:
    return [r for r in rewards if r is not None]


def _no_signal(values: list[float]) -> bool:
    return max(values) - min(values) <= SAME_REWARD


@register("grpo")
def grpo(rewards: Sequence[float | None], eps: float = 1e-6) -> list[float | None]:
    """(r − mean) / (std + eps) within the group (population std, as GRPO)."""
    values = _present(rewards)
    if not values:
        return [None] * len(rewards)
    if _no_signal(values):
        return [None if r is None else 0.0 for r in rewards]
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return [None if r is None else (r - mean) / (std + eps) for r in rewards]


@register("mean_only")
def mean_only(rewards: Sequence[float | None]) -> list[float | None]:
    """r − mean (Dr. GRPO's variant: no division by the group's std)."""
    values = _present(rewards)
    if not values:
        return [None] * len(rewards)
    if _no_signal(values):
        return [None if r is None else 0.0 for r in rewards]
    mean = sum(values) / len(values)
    return [None if r is None else r - mean for r in rewards]


def get_estimator(name: str) -> Estimator:
    if name not in ADVANTAGES:
        raise ValueError(f"unknown advantage estimator {name!r}; expected one of {sorted(ADVANTAGES)}")
    return ADVANTAGES[name]
