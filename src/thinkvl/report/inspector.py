"""The rollout inspector: which rollouts to embed, which look like reward hacking, and their HTML.

GLM-4.1V's lesson is that one hackable verifier derails every domain, and the cheapest detector
is a person reading rewarded rollouts per domain. So the inspector puts *suspicious* rewards
first — rewarded while carrying a flag that should have cost the reward, or correct with almost
no thinking — and embeds only a sample of the rest (latest steps, a few per domain), saying how
many it left out. Every string from a rollout is untrusted model text and is escaped.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from thinkvl.format import BOX_CLOSE, BOX_OPEN, PROTOCOL_MARKERS, THINK_CLOSE, THINK_OPEN
from thinkvl.report.loaders import RLRun, count_lines
from thinkvl.report.media import ThumbnailCache

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
_MARKER_RE = re.compile("|".join(re.escape(m) for m in PROTOCOL_MARKERS))


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


def _num(value: Any) -> float | None:
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
    reward = _num(record.get("reward"))
    tags = set(tags_of(record))
    if reward is not None and reward > 0:
        bad = sorted(tags & SUSPICIOUS_FLAGS)
        if bad:
            reasons.append(f"rewarded {reward:.2f} while flagged {', '.join(bad)}")
        extracted = record.get("extracted")
        if extracted is None or (isinstance(extracted, str) and not extracted.strip()):
            reasons.append(f"rewarded {reward:.2f} with no extracted answer")
    think = _num(record.get("think_tokens"))
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
            t = _num(stats.get("think_tokens")) if isinstance(stats, dict) else None
            if t is not None:
                values[str(d)].append(t)
    return {d: sum(v) / len(v) for d, v in values.items() if v}


def _rollouts_per_step(metrics: list[dict]) -> dict[int, int]:
    """Rollouts each step generated, from the cumulative ``totals.rollouts`` of metrics.jsonl."""
    out, previous = {}, None
    for m in metrics:
        total = (
            _num((m.get("totals") or {}).get("rollouts"))
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
            reward = _num(r.get("reward"))
            rewarded = reward is not None and reward > 0
            sel.scanned_by_domain[domain] += 1
            sel.rewarded_by_domain[domain] += rewarded
            think = _num(r.get("think_tokens"))
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


def _value(value: Any) -> str:
    """Any JSON value as short escaped text (answers may be numbers, lists, dicts)."""
    if value is None:
        return '<span class="na">n/a</span>'
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > 400:
        text = text[:400] + f" … ({len(text) - 400} more characters)"
    return escape(text)


def highlight_response(text: str, limit: int) -> str:
    """The response escaped, with protocol markers, the think block and the box content styled.

    Text is only ever inserted escaped; markup comes from the fixed marker list."""
    note = ""
    if len(text) > limit:
        head, tail = text[: limit * 2 // 3], text[-(limit // 3) :]
        note = f"\n… [{len(text) - len(head) - len(tail)} characters not shown] …\n"
    else:
        head, tail = text, ""
    out: list[str] = []
    # The chat template usually opens <think> in the prompt: text before a lone </think> is thinking.
    close = text.find(THINK_CLOSE)
    state = {"think": close >= 0 and THINK_OPEN not in text[:close], "box": False}

    def emit(segment: str) -> None:
        if not segment:
            return
        cls = "bx" if state["box"] else "th" if state["think"] else ""
        out.append(f'<span class="{cls}">{escape(segment)}</span>' if cls else escape(segment))

    for part_index, part in enumerate((head, tail)):
        if part_index == 1 and note:
            out.append(f'<span class="cut">{escape(note)}</span>')
        pos = 0
        for m in _MARKER_RE.finditer(part):
            emit(part[pos : m.start()])
            marker = m.group()
            out.append(f'<span class="mk">{escape(marker)}</span>')
            if marker == THINK_OPEN:
                state["think"] = True
            elif marker == THINK_CLOSE:
                state["think"] = False
            elif marker == BOX_OPEN:
                state["box"] = True
            elif marker == BOX_CLOSE:
                state["box"] = False
            pos = m.end()
        emit(part[pos:])
    return "".join(out)


def _fmt(value: Any, digits: int = 2) -> str:
    num = _num(value)
    return "n/a" if num is None else f"{num:.{digits}f}"


def _reward_pill(record: dict) -> str:
    reward = _num(record.get("reward"))
    if record.get("reward", 0) is None:
        return '<span class="pill miss" title="the judge failed: no reward">reward missing</span>'
    if reward is None:
        return '<span class="pill miss">reward n/a</span>'
    cls = "pos" if reward >= 0.999 else "part" if reward > 0 else "zero"
    return f'<span class="pill {cls}">reward {reward:.2f}</span>'


def _correct_mark(record: dict) -> str:
    correct = record.get("correct")
    if correct is True:
        return '<span class="ok" title="correct">✓ correct</span>'
    if correct is False:
        return '<span class="bad" title="wrong">✗ wrong</span>'
    return '<span class="na" title="unknown (judge failed)">? unknown</span>'


def _media_html(record: dict, thumbs: ThumbnailCache) -> str:
    media = record.get("media")
    refs = [str(m) for m in media] if isinstance(media, list) else []
    if not refs:
        return '<div class="media empty">no image</div>'
    cells = []
    for ref in refs[:4]:
        for t in thumbs.thumbs(ref):
            title = escape(ref if t.note is None else f"{ref} ({t.note})")
            if t.css_class:
                cells.append(
                    f'<span class="thumb {t.css_class}" role="img" '
                    f'aria-label="{escape(t.label)}" title="{title}"></span>'
                )
            else:
                cells.append(
                    f'<span class="thumb none" title="{title}">{escape(t.note or "")}</span>'
                )
    if len(refs) > 4:
        cells.append(f'<span class="more">+{len(refs) - 4} more</span>')
    return f'<div class="media">{"".join(cells)}</div>'


def render_row(row: Row, thumbs: ThumbnailCache, color: str, limits: InspectorLimits) -> str:
    r = row.record
    reward = _num(r.get("reward"))
    outcome = (
        "missing" if r.get("reward", 0) is None else "rewarded" if (reward or 0) > 0 else "zero"
    )
    adv = _num(r.get("advantage"))
    facts = [f"step {row.step}", f"prompt <code>{escape(str(r.get('prompt_id', 'n/a')))}</code>"]
    if r.get("group") is not None:
        facts.append(f"group {escape(str(r.get('group')))}")
    facts.append(f"{_fmt(r.get('tokens'), 0)} tok (think {_fmt(r.get('think_tokens'), 0)})")
    if adv is not None:
        facts.append(f"adv {adv:+.2f}")
    if "kept" in r:
        facts.append("kept" if r.get("kept") else '<span class="na">not trained</span>')
    chips = "".join(
        f'<span class="chip{" hot" if t in SUSPICIOUS_FLAGS or t == "judge_failed" else ""}">'
        f"{escape(t)}</span>"
        for t in row.tags
    )
    warn = "".join(f'<div class="sus">⚠ {escape(reason)}</div>' for reason in row.reasons)
    response = r.get("response")
    response = response if isinstance(response, str) else json.dumps(response, default=str)
    return (
        f'<article class="ro{" is-sus" if row.reasons else ""}" data-domain="{escape(row.domain)}" '
        f'data-step="{row.step}" data-flags="{escape(" ".join(row.tags))}" '
        f'data-sus="{int(bool(row.reasons))}" data-outcome="{outcome}">'
        f"{_media_html(r, thumbs)}"
        f'<div class="ro-body"><div class="ro-head">'
        f'<span class="dom" style="--c:{color}">{escape(row.domain)}</span>'
        f"{_reward_pill(r)}{_correct_mark(r)}"
        f'<span class="facts">{" · ".join(facts)}</span></div>'
        f"{warn}"
        f'<dl class="ans"><div><dt>extracted</dt><dd>{_value(r.get("extracted"))}</dd></div>'
        f"<div><dt>reference</dt><dd>{_value(r.get('answer'))}</dd></div>"
        f"<div><dt>verifier</dt><dd>{_value(r.get('reason'))}</dd></div>"
        f"{'<div class=chips>' + chips + '</div>' if chips else ''}</dl>"
        f'<pre class="resp">{highlight_response(response or "", limits.response_chars)}</pre>'
        f"</div></article>"
    )


def render_inspector(
    sel: Selection,
    thumbs: ThumbnailCache,
    colors: dict[str, str],
    limits: InspectorLimits | None = None,
) -> str:
    """Filters, the note on what was left out, and the rollout cards."""
    limits = limits or InspectorLimits()
    if not sel.saved_steps:
        return (
            '<p class="empty-note">No rollouts saved in this run (<code>rollouts/</code> is '
            "missing; set <code>run.save_rollouts: true</code> to inspect them).</p>"
        )
    domains = sorted({row.domain for row in sel.rows})
    steps = sorted({row.step for row in sel.rows}, reverse=True)
    tag_counts = Counter(t for row in sel.rows for t in row.tags)
    per_domain = Counter(row.domain for row in sel.rows)
    sus_domain = Counter(row.domain for row in sel.rows if row.reasons)
    opt = '<option value="{v}">{t}</option>'
    domain_opts = "".join(
        opt.format(
            v=escape(d),
            t=escape(
                f"{d} ({per_domain[d]}"
                + (f", {sus_domain[d]} suspicious)" if sus_domain[d] else ")")
            ),
        )
        for d in domains
    )
    step_opts = "".join(opt.format(v=s, t=f"step {s}") for s in steps)
    flag_opts = "".join(
        opt.format(v=escape(t), t=escape(f"{t} ({n})")) for t, n in sorted(tag_counts.items())
    )
    n_sus = sum(bool(row.reasons) for row in sel.rows)
    span = (
        f"steps {sel.sampled_steps[0]}–{sel.sampled_steps[-1]}"
        if len(sel.sampled_steps) > 1
        else f"step {sel.sampled_steps[0]}"
        if sel.sampled_steps
        else "no steps"
    )
    scan = (
        f"{sel.scanned_steps[0]}–{sel.scanned_steps[-1]}"
        if len(sel.scanned_steps) > 1
        else str(sel.scanned_steps[0])
        if sel.scanned_steps
        else "none"
    )
    note = (
        f"Embedded <b>{len(sel.rows)}</b> of {sel.total_saved} saved rollouts "
        f"({len(sel.saved_steps)} saved steps): every suspicious reward of steps {scan} "
        f"(up to {limits.suspicious_per_domain} per domain; <b>{n_sus}</b> shown) first, then up "
        f"to {limits.per_domain_step} per domain from {span}. "
        f"<b>{sel.left_out}</b> rollouts left out — see <code>rollouts/step_*.jsonl</code>."
    )
    cards = "\n".join(
        render_row(row, thumbs, colors.get(row.domain, "#777"), limits) for row in sel.rows
    )
    return f"""
<div class="filters" role="search">
  <label>Domain <select id="f-domain"><option value="">all domains</option>{domain_opts}
    </select></label>
  <label>Step <select id="f-step"><option value="">all steps</option>{step_opts}</select></label>
  <label>Flag <select id="f-flag"><option value="">any</option>
    <option value="__sus">suspicious only</option><option value="__flagged">has a flag</option>
    <option value="__none">no flag</option>{flag_opts}</select></label>
  <label>Outcome <select id="f-outcome"><option value="">any</option>
    <option value="rewarded">rewarded (&gt; 0)</option><option value="zero">reward 0</option>
    <option value="missing">judge failed</option></select></label>
  <label class="grow">Search <input id="f-text" type="search"
    placeholder="text in response, answer, prompt id"></label>
  <span id="f-count" class="count"></span>
</div>
<p class="note">{note}</p>
<div id="rollouts-list">
{cards}
</div>
<p id="f-empty" class="empty-note" hidden>No rollout matches these filters.</p>
"""
