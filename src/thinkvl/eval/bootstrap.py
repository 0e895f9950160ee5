"""Paired bootstrap intervals for a change in held-out accuracy (before vs after RL).

The demo's claim "RL improved held-out accuracy" is a difference of two noisy means measured on
the same records. Resampling *records* (the same draw for before and after: paired) keeps what
the two evaluations share out of the interval; resampling within each domain (stratified) keeps
the statistic the summary reports, the mean over domains of per-domain accuracy. A record's value
is 0/1 for greedy decoding, or its mean over the sampled draws.
"""

from __future__ import annotations

import numpy as np

Values = dict[str, dict[str, float]]  # domain -> record id -> value in [0, 1]


def macro_mean(values: Values) -> float:
    """Mean over domains of the per-domain mean."""
    means = [sum(v.values()) / len(v) for v in values.values() if v]
    return sum(means) / len(means) if means else 0.0


def paired_bootstrap(before: Values, after: Values, resamples: int = 2000, seed: int = 0,
                     level: float = 0.95) -> dict:
    """``after − before`` in mean-over-domains accuracy with a ``level`` percentile interval.

    Only records present in both are compared (a record missing from one side is left out and
    counted in ``unpaired``). Returns ``delta``, ``low``, ``high``, ``level``, ``resamples``,
    ``records`` and ``unpaired``."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    diffs, unpaired = [], 0
    for domain in sorted(set(before) | set(after)):
        b, a = before.get(domain, {}), after.get(domain, {})
        shared = sorted(set(b) & set(a))
        unpaired += len(set(b) ^ set(a))
        if shared:
            diffs.append(np.array([a[i] - b[i] for i in shared], dtype=float))
    if not diffs:
        raise ValueError("no record was evaluated both before and after: nothing to compare")
    delta = float(np.mean([d.mean() for d in diffs]))
    stats = np.zeros(resamples)
    for d in diffs:  # stratified: each domain resampled within itself
        picks = rng.integers(0, len(d), size=(resamples, len(d)))
        stats += d[picks].mean(axis=1)
    stats /= len(diffs)
    tail = (1 - level) / 2
    low, high = np.quantile(stats, [tail, 1 - tail])
    return {"delta": delta, "low": float(low), "high": float(high), "level": level,
            "resamples": resamples, "records": int(sum(len(d) for d in diffs)), "unpaired": unpaired}
