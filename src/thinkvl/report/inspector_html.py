"""The rollout inspector's HTML: one row per embedded rollout, markers and box highlighted.

Every string from a rollout is untrusted model text and is only ever inserted escaped; markup
comes from the fixed protocol-marker list.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from html import escape
from typing import Any

from thinkvl.format import BOX_CLOSE, BOX_OPEN, PROTOCOL_MARKERS, THINK_CLOSE, THINK_OPEN
from thinkvl.report.inspector import SUSPICIOUS_FLAGS, InspectorLimits, Row, Selection, number
from thinkvl.report.media import ThumbnailCache

_MARKER_RE = re.compile("|".join(re.escape(m) for m in PROTOCOL_MARKERS))


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
    num = number(value)
    return "n/a" if num is None else f"{num:.{digits}f}"


def _reward_pill(record: dict) -> str:
    reward = number(record.get("reward"))
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
    reward = number(r.get("reward"))
    outcome = (
        "missing" if r.get("reward", 0) is None else "rewarded" if (reward or 0) > 0 else "zero"
    )
    adv = number(r.get("advantage"))
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
