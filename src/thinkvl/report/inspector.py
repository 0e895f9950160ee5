"""The rollout inspector: which rollouts to embed, and which look like reward hacking.

GLM-4.1V's lesson is that one hackable verifier derails every domain, and the cheapest detector
is a person reading rewarded rollouts per domain. So the inspector puts *suspicious* rewards
first — rewarded while carrying a flag that should have cost the reward, or correct with almost
no thinking — and embeds only a sample of the rest (latest steps, a few per domain), saying how
many it left out. The HTML is ``report.inspector_html``.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thinkvl.report.loaders import RLRun, count_lines

# A reward earned while one of these is set is worth reading: the verifier may be hackable.
SUSPICIOUS_FLAGS = frozenset(
    {
        "hedged",
        "multiple_boxes",
        "multiple_answers",
        "format_error",
        "injection",
        "repetition",
        "language_mix",
        "truncated",
        "empty_box",
        "no_box",
        "restated_question",
        "too_long",
        "unparsable",
    }
)
SHORT_THINK_FLOOR = 3  # tokens: a correct answer after less thinking than this is suspicious
SHORT_THINK_FRACTION = 0.2  # … or after less than this share of the domain's mean think


@dataclass(frozen=True)
class InspectorLimits:
    """How much of the saved rollouts the page embeds (the page must stay small)."""

    steps: int = 3  # latest saved steps sampled for the ordinary rows
    per_domain_step: int = 6  # ordinary rows per (step, domain)
    scan_steps: int = 20  # latest saved steps searched for suspicious rewards …
    scan_rollouts: int = 50_000  # … reading at most about this many rollouts
    suspicious_per_domain: int = 30
    response_chars: int = 3000  # longer responses keep their head and tail


@dataclass
class Row:
    """One embedded rollout with the tags the filters use and why it looks suspicious."""

    record: dict
    step: int
    domain: str
    tags: list[str]
    reasons: list[str]


@dataclass
class Selection:
    """The embedded rows plus the counts the page needs to say what it left out."""

    rows: list[Row] = field(default_factory=list)
    saved_steps: list[int] = field(default_factory=list)
    sampled_steps: list[int] = field(default_factory=list)
    scanned_steps: list[int] = field(default_factory=list)
    total_saved: int = 0
    scanned_by_domain: Counter = field(default_factory=Counter)
    suspicious_by_domain: Counter = field(default_factory=Counter)
    rewarded_by_domain: Counter = field(default_factory=Counter)

    @property
    def left_out(self) -> int:
        return max(0, self.total_saved - len(self.rows))


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def tags_of(record: dict) -> list[str]:
    """Verifier flags plus the facts the rollout records outside them (forced, truncated, …)."""
    flags = record.get("flags")
    tags = {str(f) for f in flags} if isinstance(flags, list) else set()
    if record.get("truncated") is True:
        tags.add("truncated")
    if record.get("forced") is True:
        tags.add("forced")
    if record.get("reward", 0) is None:
        tags.add("judge_failed")
    return sorted(tags)


def suspicion(record: dict, typical_think: float | None) -> list[str]:
    """Why this rollout's reward deserves a human look (empty: nothing suspicious).

    ``typical_think``: the domain's typical think length, the yardstick for "very short"."""
    reasons = []
    reward = number(record.get("reward"))
    tags = set(tags_of(record))
    if reward is not None and reward > 0:
        bad = sorted(tags & SUSPICIOUS_FLAGS)
        if bad:
            reasons.append(f"rewarded {reward:.2f} while flagged {', '.join(bad)}")
        extracted = record.get("extracted")
        if extracted is None or (isinstance(extracted, str) and not extracted.strip()):
            reasons.append(f"rewarded {reward:.2f} with no extracted answer")
    think = number(record.get("think_tokens"))
    if record.get("correct") is True and think is not None and typical_think is not None:
        limit = max(SHORT_THINK_FLOOR, SHORT_THINK_FRACTION * typical_think)
        if think < limit and typical_think >= 2 * SHORT_THINK_FLOOR:
            reasons.append(
                f"correct after a {int(think)}-token think (domain mean {typical_think:.0f})"
            )
    return reasons


def _domain_of(record: dict) -> str:
    domain = record.get("domain")
    return str(domain) if domain not in (None, "") else "unknown"


def think_reference(metrics: list[dict], last: int) -> dict[str, float]:
    """Each domain's mean think length over the last ``last`` logged steps (from metrics.jsonl,
    so the suspicion rule needs no extra pass over large rollout files)."""
    values: dict[str, list[float]] = defaultdict(list)
    for m in metrics[-last:] if last > 0 else []:
        domains = m.get("domains")
        for d, stats in domains.items() if isinstance(domains, dict) else ():
            t = number(stats.get("think_tokens")) if isinstance(stats, dict) else None
            if t is not None:
                values[str(d)].append(t)
    return {d: sum(v) / len(v) for d, v in values.items() if v}


def _rollouts_per_step(metrics: list[dict]) -> dict[int, int]:
    """Rollouts each step generated, from the cumulative ``totals.rollouts`` of metrics.jsonl."""
    out, previous = {}, None
    for m in metrics:
        total = (
            number((m.get("totals") or {}).get("rollouts"))
            if isinstance(m.get("totals"), dict)
            else None
        )
        step = m.get("step")
        if total is not None and isinstance(step, int):
            if previous is not None and total >= previous[1] and step == previous[0] + 1:
                out[step] = int(total - previous[1])
            elif step == 1:
                out[step] = int(total)
            previous = (step, total)
        else:
            previous = None
    return out


def select_rollouts(run: RLRun, limits: InspectorLimits | None = None) -> Selection:
    """Suspicious rollouts of the latest ``scan_steps`` steps (at most ``scan_rollouts`` read),
    then a balanced sample (rewarded and unrewarded) per domain of the latest ``steps`` steps.

    Files are streamed newest first and only chosen records are kept, so a cluster run with
    thousands of long rollouts per step costs time, not memory; deterministic for a given run."""
    limits = limits or InspectorLimits()
    sel = Selection(saved_steps=[s for s, _ in run.rollout_files])
    sampled = set(sel.saved_steps[-limits.steps :]) if limits.steps > 0 else set()
    sel.sampled_steps = sorted(sampled)
    reference = think_reference(run.metrics, max(limits.scan_steps, 1))
    per_step = _rollouts_per_step(run.metrics)
    suspicious_rows: list[Row] = []
    candidates: dict[int, dict[str, list[tuple[int, bool]]]] = {}
    seen: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    read = 0
    for step, path in reversed(run.rollout_files):
        in_window = len(sel.scanned_steps) < limits.scan_steps and read < limits.scan_rollouts
        if not in_window and step not in sampled:
            sel.total_saved += per_step.get(step) or count_lines(path)
            continue
        sel.scanned_steps.append(step)
        pool: dict[str, list[tuple[int, bool]]] = defaultdict(list)
        for i, r in iter_records(path, run.warnings):
            read += 1
            sel.total_saved += 1
            domain = _domain_of(r)
            reward = number(r.get("reward"))
            rewarded = reward is not None and reward > 0
            sel.scanned_by_domain[domain] += 1
            sel.rewarded_by_domain[domain] += rewarded
            think = number(r.get("think_tokens"))
            if think is not None:  # fallback yardstick when metrics.jsonl has no think lengths
                seen[domain][0] += think
                seen[domain][1] += 1
            typical = reference.get(domain)
            if typical is None and seen[domain][1] >= 8:
                typical = seen[domain][0] / seen[domain][1]
            reasons = suspicion(r, typical)
            if reasons:
                sel.suspicious_by_domain[domain] += 1
                if (
                    sum(row.domain == domain for row in suspicious_rows)
                    < limits.suspicious_per_domain
                ):
                    suspicious_rows.append(Row(r, step, domain, tags_of(r), reasons))
                    continue
            if step in sampled:
                pool[domain].append((i, rewarded))
        if step in sampled:
            candidates[step] = pool
    sel.scanned_steps.sort()

    ordinary: list[Row] = []
    for step in sorted(candidates, reverse=True):
        wanted: dict[int, str] = {}
        for domain in sorted(candidates[step]):
            for i in _balanced_sample(
                candidates[step][domain], limits.per_domain_step, f"{step}:{domain}"
            ):
                wanted[i] = domain
        path = dict(run.rollout_files)[step]
        for i, r in iter_records(path, None, only=set(wanted)):
            ordinary.append(Row(r, step, wanted[i], tags_of(r), []))
        ordinary[len(ordinary) - len(wanted) :] = sorted(
            ordinary[len(ordinary) - len(wanted) :], key=lambda row: row.domain
        )
    sel.rows = suspicious_rows + ordinary
    return sel


def iter_records(path: Path, warnings: list[str] | None, only: set[int] | None = None):
    """``(line_number, record)`` for each JSON object line of a rollout file, streamed; with
    ``only``, just those lines are parsed. Unreadable lines are skipped and reported once."""
    bad = 0
    try:
        with path.open("r", encoding="utf-8", errors="replace") as f:
            for i, line in enumerate(f):
                if only is not None and i not in only:
                    continue
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    bad += 1
                    continue
                if isinstance(record, dict):
                    yield i, record
                else:
                    bad += 1
    except OSError as exc:
        if warnings is not None:
            warnings.append(f"{path.name}: unreadable ({exc})")
        return
    if bad and warnings is not None:
        warnings.append(f"{path.name}: skipped {bad} unreadable line(s)")


def _balanced_sample(items: list[tuple[int, bool]], k: int, seed: str) -> list[int]:
    """Up to ``k`` line numbers, alternating rewarded and unrewarded rollouts, in file order."""
    rng = random.Random(seed)
    good = [i for i, rewarded in items if rewarded]
    bad = [i for i, rewarded in items if not rewarded]
    rng.shuffle(good)
    rng.shuffle(bad)
    picked: list[int] = []
    while len(picked) < k and (good or bad):
        for pool in (good, bad):
            if pool and len(picked) < k:
                picked.append(pool.pop())
    return sorted(picked)


# --- HTML --------------------------------------------------------------------------------------
