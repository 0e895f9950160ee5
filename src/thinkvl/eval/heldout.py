"""Held-out accuracy per domain, as RL, the demo and the benches measure it.

Held-out records are scored by the same reward system as training: greedy, and optionally also
averaged over ``samples`` temperature draws per record (the quantity RL itself maximises, which
shows learning before it moves the greedy answer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from thinkvl.model.settings import GenerationSettings


def first_per_domain(items: Iterable, n: int | None, domain: Callable = lambda item: item.domain) -> list:
    """The first ``n`` items of every domain, in order (all when ``n`` is None): the held-out
    subset evaluated before and after RL, and the prompts graded offline."""
    if n is None:
        return list(items)
    if n < 1:
        raise ValueError(f"a per-domain limit must be at least 1, got {n}")
    seen: dict[str, int] = {}
    out = []
    for item in items:
        d = domain(item)
        if seen.get(d, 0) < n:
            seen[d] = seen.get(d, 0) + 1
            out.append(item)
    return out


def heldout_records(path: str | Path, per_domain: int | None) -> list[dict]:
    """The first ``per_domain`` held-out records of every domain (validated)."""
    from thinkvl.data.io import read_records

    return first_per_domain(read_records(path, kind="rl"), per_domain, lambda rec: rec["domain"])


def eval_summary(result) -> dict:
    """Per-domain accuracy, invalid-answer rate and counts of an evaluation, and each record's
    correctness (``records``: domain → id → 0/1; missing judgements left out) for paired
    intervals."""
    by = sorted(result.by_domain.items())
    acc = {d: m.accuracy for d, m in by}
    records: dict[str, dict[str, float]] = {}
    for s in result.samples:
        if not s.missing and not s.error:
            records.setdefault(s.domain, {})[str(s.id)] = float(bool(s.correct))
    return {"accuracy": acc, "mean_accuracy": sum(acc.values()) / max(1, len(acc)),
            "invalid_rate": {d: m.invalid_rate for d, m in by}, "n": {d: m.n for d, m in by},
            "overall_accuracy": result.accuracy, "records": records}


def heldout_gain(before: dict, after: dict, resamples: int = 2000, seed: int = 0) -> dict:
    """Paired bootstrap 95% intervals of the change in mean held-out accuracy, greedy and (when
    both evaluations sampled) sampled: ``{"greedy": {...}, "sampled": {...} | None}``."""
    from thinkvl.eval.bootstrap import paired_bootstrap

    out = {"greedy": paired_bootstrap(before["records"], after["records"], resamples, seed)}
    sb, sa = before.get("sampled"), after.get("sampled")
    out["sampled"] = (paired_bootstrap(sb["records"], sa["records"], resamples, seed)
                      if sb and sa and "records" in sb and "records" in sa else None)
    return out


def heldout_accuracy(model, processor, records: Any, rewards, settings: GenerationSettings, *,
                     batch_size: int, samples: int = 0) -> dict:
    """Greedy think-mode accuracy per domain (``eval_summary``) within ``settings``' budgets; with
    ``samples`` > 0 also the mean over that many draws per record at ``settings``' temperature
    and top-p, seeded from ``settings.seed`` (``["sampled"]``)."""
    from thinkvl.eval.runner import evaluate
    from thinkvl.eval.scoring import Scorer

    scorer = Scorer(rewards=rewards)
    decoding = {k: getattr(settings, k) for k in GenerationSettings.model_fields}

    def run(**change) -> dict:
        return eval_summary(evaluate(model, processor, records, mode="think",
                                     generation=GenerationSettings(**{**decoding, **change}),
                                     scorer=scorer, batch_size=batch_size))

    summary = run(temperature=0.0)
    if samples:
        temperature = settings.temperature
        draws = [run(seed=settings.seed + k) for k in range(samples)]
        acc = {d: sum(x["accuracy"][d] for x in draws) / len(draws) for d in draws[0]["accuracy"]}
        records: dict[str, dict[str, float]] = {}
        for d in {d for x in draws for d in x["records"]}:
            ids = {i for x in draws for i in x["records"].get(d, {})}
            seen = {i: [x["records"][d][i] for x in draws if i in x["records"].get(d, {})] for i in ids}
            records[d] = {i: sum(v) / len(v) for i, v in seen.items()}
        summary["sampled"] = {"samples": samples, "temperature": temperature, "accuracy": acc,
                              "mean_accuracy": sum(acc.values()) / max(1, len(acc)), "records": records}
    return summary
