"""Reports: ``results.json``, a Markdown table, per-sample files, and run comparisons.

Every score is shown with its sample count and invalid-answer rate, and a comparison always
prints the settings that produced each run (model, decoder library, judge, decoding, pixel and
frame caps) so numbers made under different settings are never silently set side by side.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

SAMPLES_DIR = "samples"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _cell(m: dict[str, Any]) -> str:
    return f"{_pct(m['score'])} (n={m['n']}, inv {_pct(m['invalid_rate'])}%)"


def _official(r: dict[str, Any], top: int = 3) -> str:
    """The benchmark's own headline numbers (rates as %, counts as they are)."""
    items = [(k, v) for k, v in (r.get("official") or {}).items() if "/" not in k][:top]
    return ", ".join(f"{k} {_pct(v) if isinstance(v, float) and abs(v) <= 1 else v}"
                     for k, v in items) or "—"


def results_table(results: list[dict[str, Any]]) -> str:
    """One row per benchmark × mode."""
    lines = ["| benchmark | mode | n | accuracy % | score % | official | invalid % | truncated % "
             "| forced % | judge failed | gen failed |",
             "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in results:
        m = r["overall"]
        lines.append(f"| {r['bench']} | {r['mode']} | {m['n']} | {_pct(m['accuracy'])} | "
                     f"{_pct(m['score'])} | {_official(r)} | {_pct(m['invalid_rate'])} | "
                     f"{_pct(m['truncated_rate'])} | {_pct(m['forced_rate'])} | "
                     f"{m['judge_failed']} | {m['failed']} |")
    return "\n".join(lines)


def breakdown_table(result: dict[str, Any], key: str = "by_domain",
                    rows: dict[str, Any] | None = None) -> str:
    rows = result[key] if rows is None else rows
    lines = [f"| {key[3:]} | n | accuracy % | score % | invalid % |", "|---|---:|---:|---:|---:|"]
    for name, m in rows.items():
        lines.append(f"| {name} | {m['n']} | {_pct(m['accuracy'])} | {_pct(m['score'])} | "
                     f"{_pct(m['invalid_rate'])} |")
    return "\n".join(lines)


def modes_side_by_side(results: list[dict[str, Any]]) -> str | None:
    """Think vs direct for each benchmark, when a run has both."""
    by_bench: dict[str, dict[str, dict]] = {}
    for r in results:
        by_bench.setdefault(r["bench"], {})[r["mode"]] = r["overall"]
    modes = sorted({r["mode"] for r in results}, key=lambda m: (m != "think", m))
    if len(modes) < 2:
        return None
    both = modes == ["think", "direct"]
    lines = ["| benchmark | " + " | ".join(f"{m} score % (n, invalid %)" for m in modes)
             + (" | think − direct (points) |" if both else " |"),
             "|---|" + "---:|" * (len(modes) + both)]
    for bench, per in by_bench.items():
        cells = [_cell(per[m]) if m in per else "—" for m in modes]
        if both:
            cells.append(f"{100 * (per['think']['score'] - per['direct']['score']):+.1f}"
                         if "think" in per and "direct" in per else "—")
        lines.append(f"| {bench} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


SETTING_ROWS = (
    ("model", lambda s: s.get("model")),
    ("model id (predictions key)", lambda s: str(s.get("model_id"))[:48]),
    ("backend / decoder", lambda s: f"{s.get('backend')} / {s.get('decoder')}"),
    ("judge", lambda s: (s.get("scoring") or {}).get("judge") or "none (rules only)"),
    ("decoding", lambda s: "greedy" if (s.get("generation") or {}).get("temperature") == 0 else
     "T={temperature} top_p={top_p} seed={seed}".format(**(s.get("generation") or {}))),
    ("think budget (+ answer)", lambda s: "{} (+{})".format(
        # older results name the think budget max_new_tokens
        *((g := s.get("generation") or {}).get("think_budget", g.get("max_new_tokens")), g.get("answer_budget")))),
    ("image cap (tokens / px)", lambda s: f"{(s.get('vision') or {}).get('image_token_cap')} / "
                                          f"{s.get('image_max_pixels')}"),
    ("video cap (tokens / px)", lambda s: f"{(s.get('vision') or {}).get('video_token_cap')} / "
                                          f"{s.get('video_max_pixels')}"),
    ("video fps / max frames", lambda s: f"{(s.get('vision') or {}).get('video_fps')} / "
                                         f"{(s.get('vision') or {}).get('max_frames')}"),
    ("direct-mode prompt", lambda s: (s.get("direct_prompt") or {}).get("style", "—")),
)


def settings_table(labels: list[str], settings: list[dict[str, Any]]) -> str:
    """Rows of settings, one column per run; rows that differ between runs are marked."""
    lines = ["| setting | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for name, get in SETTING_ROWS:
        values = []
        for s in settings:
            try:
                values.append(str(get(s)))
            except (KeyError, TypeError):
                values.append("?")
        mark = " **(differs)**" if len(set(values)) > 1 else ""
        lines.append(f"| {name}{mark} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def markdown(results: list[dict[str, Any]], title: str = "Evaluation") -> str:
    parts = [f"# {title}", "", results_table(results), ""]
    side = modes_side_by_side(results)
    if side:
        parts += ["## Think vs direct", "", side, ""]
    for r in results:
        parts += [f"## {r['bench']} [{r['mode']}] by domain", "", breakdown_table(r), ""]
        if set(r["by_group"]) != set(r["by_domain"]):
            parts += [breakdown_table(r, "by_group"), ""]
        for dim, rows in (r.get("by_category") or {}).items():
            parts += [f"### by {dim}", "", breakdown_table(r, f"by {dim}", rows), ""]
        if r.get("official"):
            parts += ["### official", "", "| metric | value |", "|---|---:|"]
            parts += [f"| {k} | {v} |" for k, v in r["official"].items()] + [""]
        for reason, n in (r.get("skipped") or {}).items():
            parts.append(f"- {n} rows {reason}")
    if results:
        labels = [f"{r['bench']} [{r['mode']}]" for r in results]
        parts += ["## Settings", "", settings_table(labels, [r["settings"] for r in results]), ""]
    return "\n".join(parts)


def write_run(out_dir: str | Path, results: list, config: Any = None) -> Path:
    """Write ``results.json``, ``results.md`` and ``samples/<bench>.<mode>.jsonl``."""
    out = Path(out_dir)
    (out / SAMPLES_DIR).mkdir(parents=True, exist_ok=True)
    dicts = [r.to_dict() for r in results]
    payload = {"created": time.strftime("%Y-%m-%dT%H:%M:%S"), "results": dicts}
    if config is not None:
        payload["config"] = config.model_dump(mode="json")
    text = json.dumps(payload, indent=1, ensure_ascii=False, default=str)
    (out / "results.json").write_text(text)
    (out / "results.md").write_text(markdown(dicts))
    for r in results:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in r.bench)
        with open(out / SAMPLES_DIR / f"{safe}.{r.mode}.jsonl", "w", encoding="utf-8") as f:
            for s in r.samples:
                f.write(json.dumps(s.to_dict(), ensure_ascii=False, default=str) + "\n")
    return out / "results.json"


def load_results(run: str | Path) -> list[dict[str, Any]]:
    path = Path(run)
    path = path / "results.json" if path.is_dir() else path
    if not path.exists():
        raise FileNotFoundError(f"{path}: no results.json (run `thinkvl eval` with --out first)")
    return json.loads(path.read_text())["results"]


def compare(runs: list[str | Path], labels: list[str] | None = None) -> str:
    """Several runs (models or modes) side by side, with the settings that produced them."""
    labels = labels or [Path(r).name or str(r) for r in runs]
    if len(labels) != len(runs):
        raise ValueError(f"{len(runs)} runs but {len(labels)} labels")
    loaded = [load_results(r) for r in runs]
    rows: dict[tuple[str, str], dict[str, dict]] = {}
    for label, results in zip(labels, loaded):
        for r in results:
            rows.setdefault((r["bench"], r["mode"]), {})[label] = r["overall"]
    lines = ["# Comparison", "", "score % (n, invalid %)", "",
             "| benchmark | mode | " + " | ".join(labels) + " |",
             "|---|---|" + "---:|" * len(labels)]
    for (bench, mode), per in rows.items():
        lines.append(f"| {bench} | {mode} | "
                     + " | ".join(_cell(per[lb]) if lb in per else "—" for lb in labels) + " |")
    settings = [results[0]["settings"] if results else {} for results in loaded]
    lines += ["", "## Settings", "", settings_table(labels, settings), ""]
    return "\n".join(lines)
