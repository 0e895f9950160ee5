"""Page assembly: turns a loaded run (RL, demo or eval) into one self-contained HTML page.

Sections are built from files only (see ``loaders``); every value that came from a file is
escaped here, in ``fragments`` or in ``inspector`` before it reaches the page.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from html import escape
from pathlib import Path

from thinkvl.report import plots
from thinkvl.report.evalpage import eval_sections, scalar
from thinkvl.report.fragments import (
    NA,
    Section,
    accuracy_of,
    chart,
    config_block,
    dom_cell,
    fmt_any,
    fmt_delta,
    fmt_float,
    fmt_int,
    fmt_pct,
    fmt_seconds,
    kpis,
    mean_accuracy,
    num,
    table,
    warnings_banner,
)
from thinkvl.report.inspector import InspectorLimits, Selection, select_rollouts
from thinkvl.report.inspector_html import render_inspector
from thinkvl.report.loaders import DemoRun, RLRun, Run
from thinkvl.report.media import ThumbnailCache
from thinkvl.report.template import CSP, CSS, JS, PAGE


def _domain_values(metrics: Sequence[dict], domain: str, key: str) -> list[float]:
    """One domain metric over the logged steps that recorded it."""
    out = []
    for m in metrics:
        domains = m.get("domains")
        stats = domains.get(domain) if isinstance(domains, dict) else None
        v = num(stats.get(key)) if isinstance(stats, dict) else None
        if v is not None:
            out.append(v)
    return out


def _recent(metrics: Sequence[dict], domain: str, key: str, k: int = 5) -> float | None:
    """Mean of a domain metric over its last ``k`` recorded steps (one step is too noisy)."""
    vals = _domain_values(metrics, domain, key)[-k:]
    return sum(vals) / len(vals) if vals else None


def _total(metrics: Sequence[dict], domain: str, key: str) -> float | None:
    vals = _domain_values(metrics, domain, key)
    return sum(vals) if vals else None


def domain_table(run: RLRun, sel: Selection, colors: dict[str, str]) -> str:
    before, after = accuracy_of(run.eval_before), accuracy_of(run.eval_after)
    inv_after = (
        (run.eval_after or {}).get("invalid_rate") if isinstance(run.eval_after, dict) else None
    )
    inv_after = inv_after if isinstance(inv_after, dict) else {}
    shown = {row.domain for row in sel.rows}
    rows = []
    for d in sorted(set(run.domains) | set(sel.scanned_by_domain)):
        delta, cls = fmt_delta(before.get(d), after.get(d))
        sus, rewarded = sel.suspicious_by_domain.get(d, 0), sel.rewarded_by_domain.get(d, 0)
        sus_text = f"{sus} of {rewarded} rewarded" if sel.scanned_by_domain.get(d) else NA
        link = (
            f'<a class="insp" href="#rollouts" data-inspect="{escape(d)}"'
            f"{' data-sus' if sus else ''}>inspect →</a>"
            if d in shown
            else ""
        )
        fmt_err = _recent(run.metrics, d, "format_error_rate")
        rows.append(
            [
                dom_cell(d, colors),
                fmt_pct(before.get(d)),
                fmt_pct(after.get(d)),
                (delta, cls),
                fmt_pct(inv_after.get(d)),
                fmt_float(_recent(run.metrics, d, "reward")),
                fmt_pct(_recent(run.metrics, d, "accuracy")),
                fmt_pct(_recent(run.metrics, d, "all_correct"), 0)
                + " / "
                + fmt_pct(_recent(run.metrics, d, "all_wrong"), 0),
                (fmt_pct(fmt_err), "hot" if (fmt_err or 0) > 0.2 else ""),
                (
                    fmt_int(_total(run.metrics, d, "judge_failures")),
                    "hot" if (_total(run.metrics, d, "judge_failures") or 0) > 0 else "",
                ),
                (sus_text, "hot" if sus else ""),
                link,
            ]
        )
    if not rows:
        return '<p class="empty-note">No per-domain data recorded.</p>'
    return table(
        [
            "domain",
            "held-out before",
            "after",
            "Δ",
            "invalid after",
            "reward*",
            "rollout acc*",
            "all ✓ / all ✗*",
            "format err*",
            "judge fails",
            "suspicious rewards",
            "",
        ],
        rows,
    ) + (
        '<p class="lead">* mean of the last 5 recorded steps. Suspicious rewards: in the '
        f"latest {len(sel.scanned_steps)} saved steps, rewarded rollouts that carry a flag that "
        "should have cost the reward, or are correct after almost no thinking.</p>"
    )


def rl_overview(run: RLRun) -> str:
    s, last = run.summary, (run.metrics[-1] if run.metrics else {})
    totals = last.get("totals") if isinstance(last.get("totals"), dict) else {}
    steps = s.get("steps", last.get("step"))
    b, a = mean_accuracy(run.eval_before), mean_accuracy(run.eval_after)
    delta, _ = fmt_delta(b, a)
    return kpis(
        [
            ("RL steps", fmt_int(steps), f"{len(run.metrics)} logged"),
            ("rollouts", fmt_int(s.get("rollouts", totals.get("rollouts"))), "generated"),
            ("tokens generated", fmt_int(s.get("tokens_generated", totals.get("tokens"))), ""),
            ("prompts", fmt_int(s.get("prompts", totals.get("prompts"))), "drawn"),
            (
                "train time",
                fmt_seconds(s.get("train_seconds", totals.get("seconds"))),
                "wall " + fmt_seconds(s.get("wall_seconds")),
            ),
            (
                "expansion",
                fmt_float(s.get("final_expansion", last.get("expansion"))) + "×",
                "final EMA",
            ),
            ("held-out accuracy", f"{fmt_pct(b)} → {fmt_pct(a)}",
             f"mean over domains, {delta}{gain_interval(s.get('heldout_gain'))}"),
        ],
        wide=("held-out accuracy",),
    )


def rl_sections(
    run: RLRun, limits: InspectorLimits, thumbs: ThumbnailCache, prefix: str = ""
) -> list[Section]:
    """Every RL section; ``prefix`` keeps ids unique when a demo page embeds its RL run."""
    domains = run.domains
    sel = select_rollouts(run, limits)
    domains = sorted(set(domains) | set(sel.scanned_by_domain))
    colors = plots.domain_colors(domains)
    metric_domains = [
        d
        for d in domains
        if any(isinstance(m.get("domains"), dict) and d in m["domains"] for m in run.metrics)
    ]
    acc_series = {}
    if run.eval_before:
        acc_series["before RL"] = accuracy_of(run.eval_before)
    if run.eval_after:
        acc_series["after RL"] = accuracy_of(run.eval_after)
    evals_series = {f"step {k}": accuracy_of(v) for k, v in sorted(run.evals.items())}
    p = prefix
    sections = [
        Section(
            f"{p}overview",
            "Overview",
            rl_overview(run)
            + warnings_banner(run.warnings)
            + "<h3>Per domain</h3>"
            + domain_table(run, sel, colors),
            "Read every domain on its own: a domain whose training reward climbs while its "
            "held-out accuracy does not is the first sign of a hackable verifier.",
        ),
        Section(
            f"{p}accuracy",
            "Held-out accuracy before / after RL",
            chart(
                plots.accuracy_bars(acc_series, "held-out accuracy per domain (greedy, think)"),
                "accuracy per domain before and after RL",
                "No held-out evaluation in summary.json (data.eval not set, or the run "
                "has not finished).",
            )
            + (
                chart(
                    plots.accuracy_bars(evals_series, "held-out accuracy at eval steps"),
                    "held-out accuracy at eval steps",
                    "",
                )
                if len(evals_series) > 1
                else ""
            ),
        ),
        Section(
            f"{p}rewards",
            "Reward and accuracy per domain over RL steps",
            chart(
                plots.reward_accuracy_grid(run.metrics, metric_domains, colors, run.evals),
                "reward and accuracy per domain",
                "No per-step metrics recorded.",
            )
            + "<h3>Groups without signal</h3>"
            + chart(
                plots.group_signal_grid(run.metrics, metric_domains, colors),
                "all-correct and all-wrong group shares",
                "No group statistics recorded.",
            ),
            "Solid: mean reward of the step's rollouts; dashed: their accuracy; diamonds: "
            "held-out accuracy at eval steps. With many steps the raw values are faint and "
            "an EMA is drawn. Groups that are all correct or all wrong give no gradient.",
        ),
        Section(
            f"{p}curriculum",
            "Curriculum and dynamic sampling",
            chart(
                plots.curriculum(run.metrics),
                "tier mix and expansion",
                "No curriculum statistics recorded.",
            ),
            "RLCS tier mix of the prompts drawn each step; expansion = EMA of "
            "1 / (1 − share of groups without signal), the oversampling factor for the next step.",
        ),
        Section(
            f"{p}lengths",
            "Response length and force answering",
            chart(
                plots.lengths(run.metrics, metric_domains, colors),
                "lengths",
                "No length statistics recorded.",
            ),
            "Collapsing think length or a rising force-answer rate are early warnings: "
            "the policy may be learning to skip reasoning, or running out of budget.",
        ),
        Section(
            f"{p}time",
            "Time per phase",
            chart(plots.phase_seconds(run.metrics), "seconds per phase", "No timings recorded."),
        ),
        Section(
            f"{p}optim",
            "Policy update",
            chart(
                plots.optimisation(run.metrics),
                "optimisation statistics",
                "No update statistics recorded (no step trained anything).",
            ),
            "Steps with nothing to train leave gaps.",
        ),
        Section(
            f"{p}rollouts",
            "Rollout inspector",
            render_inspector(sel, thumbs, colors, limits),
            "Are rewards earned for the right reason? Suspicious rewards come first. "
            "Responses are model output, shown as escaped text.",
        ),
        Section(
            f"{p}settings",
            "Settings",
            config_block(run.config_text, "config.yaml"),
            f"<code>{escape(str(run.path / 'config.yaml'))}</code> — the resolved settings "
            "of this run.",
        ),
    ]
    return sections


# --- demo ----------------------------------------------------------------------------------------


def _mean(values: dict[str, float]) -> float | None:
    return sum(values.values()) / len(values) if values else None


def demo_overview(run: DemoRun) -> Section:
    s = run.summary
    stages = s.get("stages") if isinstance(s.get("stages"), dict) else {}
    acc = s.get("accuracy") if isinstance(s.get("accuracy"), dict) else {}
    direct = s.get("direct") if isinstance(s.get("direct"), dict) else {}
    rl = s.get("rl") if isinstance(s.get("rl"), dict) else {}
    audit = s.get("audit") if isinstance(s.get("audit"), dict) else None
    sft_acc, rl_acc = (
        accuracy_of({"accuracy": acc.get("sft")}),
        accuracy_of({"accuracy": acc.get("rl")}),
    )
    delta, _ = fmt_delta(_mean(sft_acc), _mean(rl_acc))
    total = sum(
        v
        for v in (
            num((st or {}).get("seconds")) if isinstance(st, dict) else None
            for st in stages.values()
        )
        if v is not None
    )
    parts = [
        kpis(
            [
                ("pipeline time", fmt_seconds(total) if stages else NA, f"{len(stages)} stages"),
                ("RL steps", fmt_int(rl.get("steps")), ""),
                ("rollouts", fmt_int(rl.get("rollouts")), ""),
                ("tokens generated", fmt_int(rl.get("tokens_generated")), "in RL"),
                ("expansion", fmt_float(rl.get("final_expansion")) + "×", "final EMA"),
                (
                    "accuracy SFT → RL",
                    f"{fmt_pct(_mean(sft_acc))} → {fmt_pct(_mean(rl_acc))}",
                    f"mean over domains, {delta}",
                ),
            ],
            wide=("accuracy SFT → RL",),
        )
    ]
    if audit is None:
        parts.append('<div class="banner warn">Reward audit not recorded.</div>')
    elif audit.get("passed"):
        parts.append(
            '<div class="banner ok"><b>Reward audit passed</b>: no adversarial probe '
            "earned reward.</div>"
        )
    else:
        hack = audit.get("hackable") if isinstance(audit.get("hackable"), list) else []
        parts.append(
            '<div class="banner fail"><b>Reward audit failed</b>: hackable '
            f"domain(s): {escape(', '.join(map(str, hack)) or 'unknown')}. "
            "Fix those verifiers before trusting any reward below.</div>"
        )
    parts.append(warnings_banner(run.warnings))
    series = {"SFT": sft_acc, "RL": rl_acc}
    dsft = accuracy_of({"accuracy": direct.get("sft")})
    drl = accuracy_of({"accuracy": direct.get("rl")})
    if dsft or drl:
        series = {"SFT think": sft_acc, "RL think": rl_acc, "SFT direct": dsft, "RL direct": drl}
    parts.append(
        chart(
            plots.accuracy_bars(series, "held-out accuracy per domain: SFT cold start vs after RL"),
            "accuracy SFT vs RL",
            "No accuracy recorded in summary.json.",
        )
    )
    domains = sorted(set(sft_acc) | set(rl_acc) | set(dsft) | set(drl))
    colors = plots.domain_colors(domains)
    if domains:
        rows = []
        for d in domains:
            dl, cls = fmt_delta(sft_acc.get(d), rl_acc.get(d))
            row = [dom_cell(d, colors), fmt_pct(sft_acc.get(d)), fmt_pct(rl_acc.get(d)), (dl, cls)]
            if dsft or drl:
                row += [fmt_pct(dsft.get(d)), fmt_pct(drl.get(d))]
            rows.append(row)
        head = ["domain", "SFT", "RL", "Δ"] + (["SFT direct", "RL direct"] if dsft or drl else [])
        parts.append(table(head, rows))
    parts.append("<h3>Stages</h3>")
    parts.append(chart(plots.stage_seconds(stages), "seconds per stage", "No stage timings."))
    stage_rows = []
    for name, st in stages.items():
        st = st if isinstance(st, dict) else {"seconds": st}
        details = " · ".join(
            f"{escape(str(k))} {fmt_any(str(k), v)}"
            for k, v in st.items()
            if k != "seconds" and scalar(v)
        )
        stage_rows.append(
            [
                escape(str(name)),
                fmt_seconds(st.get("seconds")),
                f'<span class="na">{details}</span>' if details else "",
            ]
        )
    if stage_rows:
        parts.append(table(["stage", "time", "details"], stage_rows))
    return Section(
        "overview",
        "Demo pipeline",
        "".join(parts),
        "synthetic world → pre-training → SFT cold start → offline grading → "
        "RL with curriculum sampling → evaluation.",
    )


def demo_sections(run: DemoRun, limits: InspectorLimits, thumbs: ThumbnailCache) -> list[Section]:
    sections = [demo_overview(run)]
    if run.rl is not None:
        for sec in rl_sections(run.rl, limits, thumbs, prefix="rl-"):
            sec.title = f"RL · {sec.title}"
            sections.append(sec)
    else:
        sections.append(Section("rl-missing", "RL", '<p class="empty-note">No rl/ folder.</p>'))
    if run.eval is not None:
        sections += eval_sections(run.eval, prefix="eval-")
    if run.config_text is not None:
        sections.append(
            Section("settings", "Demo settings", config_block(run.config_text, "config.yaml"))
        )
    return sections


# --- page ----------------------------------------------------------------------------------------

NAV_LABELS = {
    "overview": "Overview",
    "accuracy": "Accuracy",
    "rewards": "Rewards",
    "curriculum": "Curriculum",
    "lengths": "Lengths",
    "time": "Time",
    "optim": "Update",
    "rollouts": "Rollouts",
    "settings": "Settings",
    "results": "Eval results",
    "eval-settings": "Eval settings",
}


def _nav_label(section: Section) -> str:
    for prefix in ("rl-", "eval-"):
        if section.id.startswith(prefix) and section.id[len(prefix) :] in NAV_LABELS:
            return ("RL " if prefix == "rl-" else "") + NAV_LABELS[section.id[len(prefix) :]]
    return NAV_LABELS.get(section.id, section.title)


def render_page(run: Run, limits: InspectorLimits | None = None) -> str:
    """The whole report for a loaded run, as one HTML string."""
    limits = limits or InspectorLimits()
    path = Path(run.path)
    roots = [path, *list(path.resolve().parents)[:4], Path.cwd()]
    thumbs = ThumbnailCache(roots=roots)
    if isinstance(run, DemoRun):
        kind, sections = "demo", demo_sections(run, limits, thumbs)
    elif isinstance(run, RLRun):
        kind, sections = "RL run", rl_sections(run, limits, thumbs)
    else:
        kind, sections = "evaluation", eval_sections(run)
    name = path.resolve().name if path.name in ("", ".") else path.name
    if isinstance(run, RLRun) and name == "rl":
        name = f"{path.resolve().parent.name}/rl"
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    nav = "".join(f'<a href="#{s.id}">{escape(_nav_label(s))}</a>' for s in sections)
    return PAGE.format(
        csp=CSP,
        css=CSS,
        thumb_css=thumbs.stylesheet(),
        js=JS,
        title=escape(f"{name} · thinkvl report"),
        heading=escape(f"{name}"),
        subtitle=f"thinkvl {escape(kind)} report · <code>{escape(str(path.resolve()))}</code>",
        nav=nav,
        body="\n".join(s.html() for s in sections),
        footer=f"generated by <code>thinkvl report</code> on {escape(now)} from the files of the "
        "run folder; regenerate any time.",
    )


def gain_interval(gain) -> str:
    """``; 95% interval …: sampled −0.4 to +3.1 pp`` from the run's paired bootstrap, sampled first."""
    if not isinstance(gain, dict):
        return ""
    parts = []
    for mode in ("sampled", "greedy"):
        ci = gain.get(mode)
        if isinstance(ci, dict) and all(isinstance(ci.get(k), (int, float)) for k in ("low", "high")):
            parts.append(f"{mode} {100 * ci['low']:+.1f} to {100 * ci['high']:+.1f} pp")
    return f"; 95% interval of the change: {', '.join(parts)}" if parts else ""
