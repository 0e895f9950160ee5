"""The evaluation part of a report: `thinkvl eval`'s results.json, or any results.json.

thinkvl's own format gets its real tables (benchmark × mode with invalid rates, per-domain
breakdowns, settings that differ between results); anything else is rendered generically so a
results file from another harness still shows up as tables instead of an error.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from thinkvl.report import plots
from thinkvl.report.fragments import (
    Section,
    accuracy_of,
    chart,
    config_block,
    dom_cell,
    fmt_any,
    num,
    table,
    warnings_banner,
)
from thinkvl.report.loaders import EvalRun


def _is_eval_summary(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("accuracy"), dict)


def scalar(value: Any) -> bool:
    """A value a table cell can show (short lists of scalars included)."""
    return (
        value is None
        or isinstance(value, (str, int, float, bool))
        or (isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value))
    )


def eval_summary_table(summary: dict, colors: dict[str, str]) -> str:
    """Domains as rows; each per-domain dict of scalars (accuracy, invalid_rate, n) a column
    (nested ones, such as each record's correctness, are not tables to read)."""
    per_domain = {k: v for k, v in summary.items()
                  if isinstance(v, dict) and v and all(scalar(x) for x in v.values())}
    domains = sorted({d for v in per_domain.values() for d in v})
    rows = [
        [dom_cell(d, colors), *(fmt_any(k, per_domain[k].get(d)) for k in per_domain)]
        for d in domains
    ]
    extra = {k: v for k, v in summary.items() if k not in per_domain and scalar(v)}
    if len(domains) > 1 and any(f"mean_{k}" in extra for k in per_domain):
        rows.append(
            [
                "<b>mean</b>",
                *(
                    fmt_any(k, extra.get(f"mean_{k}")) if f"mean_{k}" in extra else ""
                    for k in per_domain
                ),
            ]
        )
    foot = " · ".join(f"{escape(k)}: {fmt_any(k, v)}" for k, v in extra.items())
    return table(["domain", *per_domain], rows) + (f'<p class="lead">{foot}</p>' if foot else "")


def _is_thinkvl_results(results: dict) -> bool:
    items = results.get("results")
    return (
        isinstance(items, list)
        and bool(items)
        and all(
            isinstance(r, dict) and "bench" in r and isinstance(r.get("overall"), dict)
            for r in items
        )
    )


OVERALL_COLUMNS = (
    ("n", "n"),
    ("accuracy", "accuracy"),
    ("score", "score"),
    ("invalid_rate", "invalid"),
    ("truncated_rate", "truncated"),
    ("forced_rate", "forced"),
    ("judge_failed", "judge failed"),
    ("failed", "gen failed"),
    ("seconds", "seconds"),
)


def thinkvl_results_html(results: dict) -> str:
    """`thinkvl eval`'s results.json: one row per benchmark × mode, per-domain breakdowns, and
    the settings of each result (rows that differ between results are marked)."""
    items = [r for r in results["results"]]
    series: dict[str, dict[str, float]] = {}
    rows = []
    for r in items:
        o = {**r["overall"], "seconds": r.get("seconds")}
        bench, mode = str(r.get("bench")), str(r.get("mode", ""))
        if num(o.get("accuracy")) is not None:
            series.setdefault(mode or "accuracy", {})[bench] = float(o["accuracy"])
        rows.append(
            [escape(bench), escape(mode), *(fmt_any(k, o.get(k)) for k, _ in OVERALL_COLUMNS)]
        )
    parts = []
    if series and len(series) <= 6:
        parts.append(
            chart(
                plots.accuracy_bars(
                    series,
                    "accuracy per benchmark",
                    mean=False,
                    fills=("#3b6fd8", "#aab4c3", "#9db7ec", "#dfe5ee"),
                ),
                "evaluation accuracy",
                "",
            )
        )
    parts.append(table(["benchmark", "mode", *(t for _, t in OVERALL_COLUMNS)], rows))
    created = results.get("created")
    if isinstance(created, str):
        parts.append(f'<p class="lead">created {escape(created)}</p>')
    domains = sorted(
        {str(d) for r in items if isinstance(r.get("by_domain"), dict) for d in r["by_domain"]}
    )
    colors = plots.domain_colors(domains)
    for r in items:
        for key in ("by_domain", "by_group"):
            block = r.get(key) if isinstance(r.get(key), dict) else {}
            if not block or (key == "by_group" and set(block) == set(r.get("by_domain") or {})):
                continue
            body = table(
                [key[3:], "n", "accuracy", "score", "invalid"],
                [
                    [
                        dom_cell(str(d), colors) if key == "by_domain" else escape(str(d)),
                        *(
                            fmt_any(k, (m or {}).get(k))
                            for k in ("n", "accuracy", "score", "invalid_rate")
                        ),
                    ]
                    for d, m in block.items()
                    if isinstance(m, dict)
                ],
            )
            parts.append(
                f"<details><summary>{escape(str(r.get('bench')))} [{escape(str(r.get('mode')))}]"
                f" by {escape(key[3:])}</summary>{body}</details>"
            )
    settings = [r.get("settings") if isinstance(r.get("settings"), dict) else {} for r in items]
    keys = list(dict.fromkeys(k for st in settings for k in st))
    if keys:
        labels = [f"{r.get('bench')} [{r.get('mode')}]" for r in items]
        srows = []
        for k in keys:
            values = [
                json.dumps(st.get(k), default=str)
                if isinstance(st.get(k), (dict, list))
                else str(st.get(k))
                for st in settings
            ]
            mark = ' <b class="bad">(differs)</b>' if len(set(values)) > 1 else ""
            srows.append(
                [
                    escape(str(k)) + mark,
                    *(escape(v if len(v) <= 60 else v[:60] + "…") for v in values),
                ]
            )
        parts.append(
            f"<details><summary>settings of each result</summary>"
            f"{table(['setting', *labels], srows)}</details>"
        )
    return "".join(parts)


def results_html(results: dict) -> str:
    """Render an eval ``results.json``: thinkvl's own format as its tables; any other nesting
    generically (eval summaries as domain tables, dicts of scalars as rows, an accuracy chart)."""
    if _is_thinkvl_results(results):
        return thinkvl_results_html(results)
    summaries: list[tuple[str, dict]] = []
    rows: list[tuple[str, dict]] = []

    def walk(obj: dict, path: tuple[str, ...]) -> None:
        if _is_eval_summary(obj):
            summaries.append((" / ".join(path) or "results", obj))
            return
        scalars = {str(k): v for k, v in obj.items() if scalar(v)}
        if scalars:
            rows.append((" / ".join(path) or "results", scalars))
        for k, v in obj.items():
            if isinstance(v, dict):
                walk(v, (*path, str(k)))
            elif isinstance(v, list):
                for j, item in enumerate(v):
                    if isinstance(item, dict):
                        name = next(
                            (
                                str(item[n])
                                for n in ("name", "bench", "benchmark", "id")
                                if isinstance(item.get(n), str)
                            ),
                            f"{k}[{j}]",
                        )
                        walk(item, (*path, str(k), name))

    walk(results, ())
    parts = []
    series: dict[str, dict[str, float]] = {}
    for label, scalars in rows:
        acc = num(scalars.get("accuracy"))
        if acc is not None:
            *group, last = label.split(" / ")
            name, key = (last, " / ".join(group)) if group else ("accuracy", last)
            series.setdefault(name, {})[key] = acc
    for label, s in summaries:
        series[label] = accuracy_of(s)
    if series and len(series) <= 6:
        parts.append(
            chart(
                plots.accuracy_bars(
                    series,
                    "accuracy per benchmark",
                    mean=False,
                    fills=("#3b6fd8", "#aab4c3", "#9db7ec", "#dfe5ee"),
                ),
                "evaluation accuracy",
                "",
            )
        )
    if rows:
        cols = list(dict.fromkeys(k for _, r in rows for k in r))[:14]
        parts.append(
            table(
                ["benchmark / mode", *cols],
                [[escape(label), *(fmt_any(c, r.get(c)) for c in cols)] for label, r in rows],
            )
        )
    colors = plots.domain_colors({d for _, s in summaries for d in accuracy_of(s)})
    for label, s in summaries:
        parts.append(f"<h3>{escape(label)}</h3>" + eval_summary_table(s, colors))
    return "".join(parts) or '<p class="empty-note">results.json holds no table.</p>'


def eval_sections(run: EvalRun, prefix: str = "") -> list[Section]:
    body = warnings_banner(run.warnings) + (
        results_html(run.results)
        if run.results
        else '<p class="empty-note">results.json missing or empty.</p>'
    )
    return [
        Section(
            f"{prefix}results",
            "Evaluation results",
            body,
            "Accuracy with the invalid-answer rate beside it; n = samples scored.",
        ),
        Section(f"{prefix}eval-settings", "Evaluation settings", _eval_config(run)),
    ]


def _eval_config(run: EvalRun) -> str:
    """config.yaml if present, else the resolved config that results.json carries."""
    if run.config_text is None and isinstance((run.results or {}).get("config"), dict):
        return (
            '<p class="lead">No config.yaml; the resolved results.json config:</p>'
            + config_block(json.dumps(run.results["config"], indent=2, default=str), "config")
        )
    return config_block(run.config_text, "config.yaml")
