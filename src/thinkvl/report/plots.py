"""Matplotlib (Agg) charts of a run, returned as PNG data URIs for a page that opens from disk.

One colour per domain across every chart and the inspector, so a domain can be followed by eye;
small multiples per domain instead of one tangle of lines, because the point of the report is
to look at each domain on its own. Every function returns None when its data is absent.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, PercentFormatter

matplotlib.use("Agg")  # files only, no display; valid until the first figure is made

PALETTE = (
    "#3b6fd8",
    "#e8743b",
    "#19a979",
    "#d6455d",
    "#8e6bd1",
    "#b78a14",
    "#13a4b4",
    "#d35fb7",
    "#5f7d95",
    "#6a9e2f",
    "#a05a2c",
    "#2f4b8f",
)
TIER_ORDER = ("very_easy", "easy", "medium", "hard", "very_hard", "unseen")
TIER_COLORS = ("#cfe3f7", "#8fc1ea", "#4f94d4", "#2c64ae", "#183b73", "#bdbdbd")
PHASE_COLORS = {
    "rollout": "#3b6fd8",
    "reward": "#e8743b",
    "update": "#19a979",
    "sync": "#8e6bd1",
    "other": "#c9ced6",
}
DPI = 120
STYLE = {
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 8.5,
    "axes.edgecolor": "#9aa3ad",
    "axes.labelcolor": "#39424e",
    "xtick.color": "#5b6572",
    "ytick.color": "#5b6572",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e9ee",
    "grid.linewidth": 0.8,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "axes.axisbelow": True,
    "font.family": "DejaVu Sans",
    "figure.facecolor": "white",
}


def domain_colors(domains: Iterable[str]) -> dict[str, str]:
    """A stable colour per domain (sorted order), shared by charts and the inspector."""
    return {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(sorted(set(domains)))}


def _uri(fig) -> str:
    """The figure as a PNG data URI, palette-quantised (about 3× smaller, same look)."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.08)
    plt.close(fig)
    buf.seek(0)
    with Image.open(buf) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        out = io.BytesIO()
        small.save(out, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value) if math.isfinite(value) else math.nan


def _get(record: dict, *path: str) -> float:
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return _num(value)


def _series(metrics: Sequence[dict], *path: str) -> np.ndarray:
    return np.array([_get(m, *path) for m in metrics], dtype=float)


def _steps(metrics: Sequence[dict]) -> np.ndarray:
    return np.array([_num(m.get("step")) for m in metrics], dtype=float)


def _has(values: np.ndarray) -> bool:
    return bool(np.isfinite(values).any())


def ema(values: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average that skips missing steps (NaN stays NaN)."""
    out, acc = np.full_like(values, np.nan), math.nan
    for i, v in enumerate(values):
        if math.isfinite(v):
            acc = v if math.isnan(acc) else alpha * acc + (1 - alpha) * v
            out[i] = acc
    return out


def _line(
    ax,
    x: np.ndarray,
    y: np.ndarray,
    color: str,
    label: str | None = None,
    style: str = "-",
    smooth: bool = False,
) -> None:
    """A per-step line; with many steps the raw values go faint behind an EMA."""
    mask = np.isfinite(y)
    if not mask.any():
        return
    if smooth and mask.sum() > 15:
        ax.plot(x[mask], y[mask], style, color=color, alpha=0.22, lw=0.9)
        y = ema(y, 0.8)
    marker = "o" if mask.sum() <= 12 else None
    ax.plot(x[mask], y[mask], style, color=color, lw=1.7, label=label, marker=marker, ms=3)


def _grid(n: int, ncols: int = 4, height: float = 1.9):
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(9.6, height * nrows + 0.4), squeeze=False, sharex=True, sharey=True
    )
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat


def accuracy_bars(
    series: dict[str, dict[str, float]],
    title: str,
    mean: bool = True,
    fills: Sequence[str] = ("#aab4c3", "#3b6fd8", "#dfe5ee", "#9db7ec"),
) -> str | None:
    """Grouped bars: accuracy per domain for each series (e.g. before / after RL); ``mean`` adds
    the unweighted mean over domains (not for benchmarks of different sizes)."""
    series = {k: v for k, v in series.items() if isinstance(v, dict) and v}
    if not series:
        return None
    domains = sorted({d for v in series.values() for d in v})
    mean = mean and len(domains) > 1
    cols = domains + (["mean"] if mean else [])
    n = len(series)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(
            figsize=(min(9.6, max(5.0, 1.6 + 0.45 * len(cols) * max(n, 2))), 3.2)
        )
        width = 0.8 / n
        x = np.arange(len(cols))
        for i, (name, acc) in enumerate(series.items()):
            vals = [_num(acc.get(d)) for d in domains]
            if mean:
                finite = [v for v in vals if math.isfinite(v)]
                vals.append(sum(finite) / len(finite) if finite else math.nan)
            bars = ax.bar(
                x - 0.4 + width * (i + 0.5),
                np.nan_to_num(vals, nan=0.0),
                width * 0.92,
                label=name,
                color=fills[i % len(fills)],
                hatch="///" if "direct" in name.lower() else None,
                edgecolor="white",
                linewidth=0.5,
            )
            for bar, v in zip(bars, vals):
                text = "n/a" if math.isnan(v) else f"{v:.0%}"
                ax.annotate(
                    text,
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    fontsize=6.5 if n > 2 else 7.5,
                    color="#39424e",
                )
        ax.set_xticks(x, cols)
        if mean:
            ax.axvline(len(domains) - 0.5, color="#c9ced6", lw=0.8, ls=":")
        ax.set_ylim(0, 1.12)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.grid(axis="x", visible=False)
        ax.set_title(title)
        ax.legend(ncols=n, loc="upper left", bbox_to_anchor=(0, 1.0))
        return _uri(fig)


def reward_accuracy_grid(
    metrics: Sequence[dict],
    domains: Sequence[str],
    colors: dict[str, str],
    evals: dict[int, dict] | None = None,
) -> str | None:
    """Per domain: training reward (solid), rollout accuracy (dashed), held-out accuracy (dots)."""
    if not metrics or not domains:
        return None
    x = _steps(metrics)
    with plt.rc_context(STYLE):
        fig, axes = _grid(len(domains))
        for ax, d in zip(axes, domains):
            c = colors[d]
            _line(ax, x, _series(metrics, "domains", d, "reward"), c, "reward", smooth=True)
            _line(
                ax, x, _series(metrics, "domains", d, "accuracy"), c, "accuracy", "--", smooth=True
            )
            if evals:
                pts = sorted((s, _get(e, "accuracy", d)) for s, e in evals.items())
                pts = [(s, v) for s, v in pts if math.isfinite(v)]
                if pts:
                    ax.plot(*zip(*pts), "D", color="#222", ms=3.5, label="held-out acc")
            ax.set_title(d, color=c)
            ax.set_ylim(-0.03, 1.03)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
        proxies = [
            Line2D([], [], color="#555", lw=1.7, label="reward"),
            Line2D([], [], color="#555", lw=1.7, ls="--", label="rollout accuracy"),
        ]
        if evals:
            proxies.append(
                Line2D([], [], color="#222", marker="D", ms=3.5, lw=0, label="held-out accuracy")
            )
        fig.legend(handles=proxies, loc="upper right", ncols=len(proxies))
        fig.supxlabel("RL step", fontsize=8.5, color="#39424e")
        fig.tight_layout(rect=(0, 0, 1, 0.95))
        return _uri(fig)


def group_signal_grid(
    metrics: Sequence[dict], domains: Sequence[str], colors: dict[str, str]
) -> str | None:
    """Per domain: share of groups that are all correct / all wrong (no gradient signal)."""
    if not metrics or not domains:
        return None
    x = _steps(metrics)
    with plt.rc_context(STYLE):
        fig, axes = _grid(len(domains), height=1.6)
        for ax, d in zip(axes, domains):
            ac = np.nan_to_num(_series(metrics, "domains", d, "all_correct"))
            aw = np.nan_to_num(_series(metrics, "domains", d, "all_wrong"))
            ax.stackplot(
                x,
                aw,
                ac,
                colors=("#e9a3a3", "#9fd5b7"),
                labels=("all wrong", "all correct"),
                alpha=0.95,
                lw=0,
            )
            ax.set_title(d, color=colors[d])
            ax.set_ylim(0, 1)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper right", ncols=2)
        fig.supxlabel("RL step", fontsize=8.5, color="#39424e")
        fig.tight_layout(rect=(0, 0, 1, 0.94))
        return _uri(fig)


def curriculum(metrics: Sequence[dict]) -> str | None:
    """RLCS tier mix of drawn prompts (stacked) and the EMA expansion ratio with the share of
    groups without signal."""
    tiers = [
        t
        for t in TIER_ORDER
        if any(isinstance(m.get("tier_mix"), dict) and t in m["tier_mix"] for m in metrics)
    ]
    extra = sorted(
        {t for m in metrics if isinstance(m.get("tier_mix"), dict) for t in m["tier_mix"]}
        - set(TIER_ORDER)
    )
    tiers += extra
    x = _steps(metrics)
    expansion = _series(metrics, "expansion")
    invalid = _series(metrics, "no_signal_rate")
    if not tiers and not _has(expansion) and not _has(invalid):
        return None
    with plt.rc_context(STYLE):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.6, 2.9))
        if tiers:
            ys = [np.nan_to_num(_series(metrics, "tier_mix", t)) for t in tiers]
            colors = [
                TIER_COLORS[TIER_ORDER.index(t)] if t in TIER_ORDER else "#999" for t in tiers
            ]
            a1.stackplot(x, *ys, labels=[t.replace("_", " ") for t in tiers], colors=colors, lw=0)
            a1.set_ylim(0, 1)
            a1.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            a1.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7.5)
        else:
            a1.text(
                0.5,
                0.5,
                "tier mix not recorded",
                ha="center",
                va="center",
                transform=a1.transAxes,
                color="#888",
            )
        a1.set_title("tier mix of drawn prompts")
        a1.set_xlabel("RL step")
        _line(a2, x, expansion, "#3b6fd8", "expansion (EMA)")
        a2.set_ylabel("expansion ×")
        a2.set_title("dynamic sampling")
        a2.set_xlabel("RL step")
        if _has(invalid):
            tw = a2.twinx()
            tw.spines["right"].set_visible(True)
            tw.grid(False)
            _line(tw, x, invalid, "#d6455d", "groups without signal", "--")
            tw.set_ylim(0, 1)
            tw.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            h1, l1 = a2.get_legend_handles_labels()
            h2, l2 = tw.get_legend_handles_labels()
            a2.legend(h1 + h2, l1 + l2, loc="upper left")
        for ax in (a1, a2):
            ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        fig.tight_layout()
        return _uri(fig)


def lengths(metrics: Sequence[dict], domains: Sequence[str], colors: dict[str, str]) -> str | None:
    """Response length, think length and force-answer rate per domain over steps."""
    panels = (
        ("response_tokens", "response tokens", False),
        ("think_tokens", "think tokens", False),
        ("force_answer_rate", "force-answer rate", True),
    )
    if not metrics or not domains:
        return None
    x = _steps(metrics)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(9.6, 2.8), sharex=True)
        for ax, (key, title, rate) in zip(axes, panels):
            for d in domains:
                _line(ax, x, _series(metrics, "domains", d, key), colors[d], d, smooth=True)
            ax.set_title(title)
            ax.set_xlabel("RL step")
            ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
            if rate:
                ax.set_ylim(-0.02, 1.02)
                ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            else:
                ax.set_ylim(bottom=0)
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(
                handles,
                labels,
                loc="lower center",
                ncols=min(len(labels), 8),
                bbox_to_anchor=(0.5, -0.02),
            )
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        return _uri(fig)


def phase_seconds(metrics: Sequence[dict]) -> str | None:
    """Seconds per phase per step (stacked) and each phase's share of the total."""
    phases = [
        p for p in ("rollout", "reward", "update", "sync") if _has(_series(metrics, "seconds", p))
    ]
    step_total = _series(metrics, "seconds", "step")
    if not phases and not _has(step_total):
        return None
    x = _steps(metrics)
    ys = {p: np.nan_to_num(_series(metrics, "seconds", p)) for p in phases}
    if _has(step_total):
        other = np.nan_to_num(step_total) - sum(ys.values(), np.zeros_like(x))
        if (other > 1e-3).any():
            ys["other"] = np.clip(other, 0, None)
    with plt.rc_context(STYLE):
        fig, (a1, a2) = plt.subplots(
            1, 2, figsize=(9.6, 2.8), gridspec_kw={"width_ratios": [2.3, 1]}
        )
        a1.stackplot(x, *ys.values(), labels=list(ys), colors=[PHASE_COLORS[p] for p in ys], lw=0)
        a1.set_title("seconds per step by phase")
        a1.set_xlabel("RL step")
        a1.set_ylabel("s")
        a1.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        a1.legend(loc="upper left", ncols=len(ys))
        a1.set_ylim(0, max(1e-6, float(sum(ys.values()).max()) * 1.25))
        totals = {p: float(v.sum()) for p, v in ys.items()}
        grand = sum(totals.values()) or 1.0
        names = list(totals)[::-1]
        a2.barh(names, [totals[p] for p in names], color=[PHASE_COLORS[p] for p in names])
        for i, p in enumerate(names):
            a2.annotate(
                f"{totals[p]:.1f} s · {totals[p] / grand:.0%}",
                (totals[p], i),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=7.5,
            )
        a2.set_xlim(0, max(totals.values() or [1]) * 1.6 or 1)
        a2.set_title("total by phase")
        a2.grid(axis="y", visible=False)
        fig.tight_layout()
        return _uri(fig)


OPTIM_KEYS = (
    ("loss", "loss"),
    ("grad_norm", "grad norm"),
    ("clip_fraction", "clip fraction"),
    ("entropy", "entropy"),
    ("kl", "KL to reference"),
    ("lr", "learning rate"),
)


def optimisation(metrics: Sequence[dict]) -> str | None:
    """Policy-update statistics that are present (missing on steps with nothing to train)."""
    keys = [(k, t) for k, t in OPTIM_KEYS if _has(_series(metrics, k))]
    if not keys:
        return None
    x = _steps(metrics)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(keys), figsize=(9.6, 2.2), squeeze=False)
        for ax, (k, title) in zip(axes.flat, keys):
            _line(ax, x, _series(metrics, k), "#39424e", smooth=True)
            ax.set_title(title)
            ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4))
        fig.supxlabel("RL step", fontsize=8.5, color="#39424e")
        fig.tight_layout()
        return _uri(fig)


def stage_seconds(stages: dict[str, Any]) -> str | None:
    """Wall seconds of each demo stage (horizontal bars, pipeline order)."""
    rows = [
        (name, _num(v.get("seconds") if isinstance(v, dict) else v)) for name, v in stages.items()
    ]
    rows = [(n, s) for n, s in rows if math.isfinite(s)]
    if not rows:
        return None
    total = sum(s for _, s in rows) or 1.0
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(9.6, 0.35 * len(rows) + 0.8))
        names = [n for n, _ in rows][::-1]
        vals = [s for _, s in rows][::-1]
        ax.barh(names, vals, color="#3b6fd8", height=0.6)
        for i, v in enumerate(vals):
            ax.annotate(
                f"{v:.1f} s · {v / total:.0%}",
                (v, i),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=7.5,
            )
        ax.set_xlim(0, max(vals) * 1.25 or 1)
        ax.set_xlabel("seconds")
        ax.grid(axis="y", visible=False)
        ax.set_title("wall time per stage")
        fig.tight_layout()
        return _uri(fig)
