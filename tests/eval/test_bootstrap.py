"""Paired bootstrap intervals of a held-out accuracy change."""

from __future__ import annotations

import random

import pytest

from thinkvl.eval.bootstrap import macro_mean, paired_bootstrap


def _records(rates: dict[str, float], n: int, seed: int) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    return {d: {f"{d}-{i}": float(rng.random() < p) for i in range(n)} for d, p in rates.items()}


def test_delta_is_the_change_in_mean_over_domains():
    before = {"a": {"1": 0.0, "2": 1.0}, "b": {"3": 0.0, "4": 0.0, "5": 0.0, "6": 0.0}}
    after = {"a": {"1": 1.0, "2": 1.0}, "b": {"3": 1.0, "4": 0.0, "5": 0.0, "6": 0.0}}
    got = paired_bootstrap(before, after, resamples=500)
    assert got["delta"] == pytest.approx(macro_mean(after) - macro_mean(before)) == pytest.approx(0.375)
    assert got["records"] == 6 and got["unpaired"] == 0
    assert got["low"] <= got["delta"] <= got["high"]


def test_pairing_removes_what_both_evaluations_share():
    """The same records, improved on a few: unpaired noise would swamp the gain, pairing does not."""
    before = _records({"a": 0.5, "b": 0.3}, 400, seed=1)
    after = {d: dict(v) for d, v in before.items()}
    for d in after:  # flip 20 wrong answers to right in each domain: +0.05
        for i in [k for k, v in after[d].items() if v == 0.0][:20]:
            after[d][i] = 1.0
    got = paired_bootstrap(before, after, resamples=2000, seed=3)
    assert got["delta"] == pytest.approx(0.05)
    assert got["low"] > 0.03  # an unpaired interval would reach below 0 (s.d. of each mean ~0.017)


def test_no_change_gives_an_interval_around_zero():
    before = _records({"a": 0.5, "b": 0.5, "c": 0.5}, 300, seed=2)
    after = _records({"a": 0.5, "b": 0.5, "c": 0.5}, 300, seed=5)  # independent redraw, same rate
    got = paired_bootstrap(before, after, resamples=2000, seed=0)
    assert got["low"] < 0 < got["high"]


def test_only_shared_records_are_compared():
    got = paired_bootstrap({"a": {"1": 0.0, "2": 0.0}}, {"a": {"1": 1.0, "3": 1.0}}, resamples=100)
    assert got["records"] == 1 and got["unpaired"] == 2 and got["delta"] == 1.0
    with pytest.raises(ValueError, match="nothing to compare"):
        paired_bootstrap({"a": {"1": 0.0}}, {"a": {"2": 1.0}})
