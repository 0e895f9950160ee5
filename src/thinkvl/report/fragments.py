"""Small HTML fragments and number formats shared by every section of the report.

Each helper escapes what it is given unless it says its input is already HTML, so sections can
be written as plain f-strings without thinking about escaping at every call.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

NA = '<span class="na">n/a</span>'


@dataclass
class Section:
    id: str
    title: str
    body: str
    lead: str = ""

    def html(self) -> str:
        lead = f'<p class="lead">{self.lead}</p>' if self.lead else ""
        return f'<section id="{self.id}"><h2>{escape(self.title)}</h2>{lead}{self.body}</section>'


def num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def fmt_pct(value: Any, digits: int = 1) -> str:
    v = num(value)
    return NA if v is None else f"{v * 100:.{digits}f}%"


def fmt_int(value: Any) -> str:
    v = num(value)
    return NA if v is None else f"{round(v):,}"


def fmt_float(value: Any, digits: int = 2) -> str:
    v = num(value)
    return NA if v is None else f"{v:.{digits}f}"


def fmt_seconds(value: Any) -> str:
    v = num(value)
    if v is None:
        return NA
    if v < 60:
        return f"{v:.1f} s"
    if v < 3600:
        return f"{int(v // 60)} min {int(v % 60):02d} s"
    return f"{int(v // 3600)} h {int(v % 3600 // 60):02d} min"


def fmt_delta(before: Any, after: Any) -> tuple[str, str]:
    """Text and CSS class of an accuracy change in percentage points."""
    b, a = num(before), num(after)
    if b is None or a is None:
        return NA, ""
    d = (a - b) * 100
    return f"{d:+.1f} pp", "up" if d > 0.05 else "down" if d < -0.05 else ""


def fmt_any(key: str, value: Any) -> str:
    """A scalar from an unknown file: rates and accuracies as percent, ints grouped, rest short."""
    if value is None:
        return NA
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return NA
        lowered = key.lower()
        if any(w in lowered for w in ("acc", "rate", "pass", "score")) and 0 <= value <= 1:
            return f"{value * 100:.1f}%"
        if "second" in lowered:
            return fmt_seconds(value)
        return f"{value:.4g}"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return escape(text if len(text) <= 80 else text[:80] + "…")


def kpis(items: Sequence[tuple[str, str, str]], wide: Sequence[str] = ()) -> str:
    """Headline numbers; values are pre-formatted (escaped) HTML; ``wide`` cards span two cells."""
    cells = "".join(
        f'<div class="kpi{" wide" if k in wide else ""}"><div class="k">{escape(k)}'
        f'</div><div class="v">{v}</div><div class="s">{s}</div></div>'
        for k, v, s in items
    )
    return f'<div class="kpis">{cells}</div>'


def chart(uri: str | None, alt: str, missing: str) -> str:
    if uri is None:
        return f'<p class="empty-note">{escape(missing)}</p>'
    return f'<img class="chart" src="{uri}" alt="{escape(alt)}">'


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Cells are HTML already; a cell given as (html, css_class) gets that class."""
    th = "".join(f"<th>{escape(h.replace('_', ' '))}</th>" for h in head)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            if isinstance(cell, tuple):
                cells.append(f'<td class="{cell[1]}">{cell[0]}</td>')
            else:
                cells.append(f"<td>{cell}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="tw"><table class="t"><thead><tr>{th}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def dom_cell(domain: str, colors: dict[str, str]) -> str:
    return f'<span class="dom" style="--c:{colors.get(domain, "#777")}">{escape(domain)}</span>'


def config_block(text: str | None, name: str) -> str:
    if text is None:
        return f'<p class="empty-note">{escape(name)} not found in the run folder.</p>'
    return f'<pre class="cfg">{escape(text)}</pre>'


def warnings_banner(warnings: Sequence[str]) -> str:
    if not warnings:
        return ""
    items = "".join(f"<li>{escape(w)}</li>" for w in dict.fromkeys(warnings))
    return f'<div class="banner warn"><b>Incomplete run folder</b><ul>{items}</ul></div>'


def accuracy_of(summary: dict | None) -> dict[str, float]:
    acc = summary.get("accuracy") if isinstance(summary, dict) else None
    return (
        {str(k): v for k, v in acc.items() if num(v) is not None} if isinstance(acc, dict) else {}
    )


def mean_accuracy(summary: dict | None) -> float | None:
    if isinstance(summary, dict) and num(summary.get("mean_accuracy")) is not None:
        return float(summary["mean_accuracy"])
    acc = accuracy_of(summary)
    return sum(acc.values()) / len(acc) if acc else None
