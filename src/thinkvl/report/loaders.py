"""Read run folders (files only) into plain data for the report.

The report must open any run a person points it at — a crashed one, an old one, one copied
without its rollouts — so every reader here tolerates missing or damaged files and records a
human-readable warning instead of raising. Only a folder that is no run at all is an error.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

RunKind = Literal["rl", "demo", "eval"]
ROLLOUT_FILE = re.compile(r"^step_(\d+)\.jsonl$")


class NotARunError(ValueError):
    """The folder holds none of the files an RL, demo or eval run writes."""


@dataclass
class RLRun:
    """An RL run folder: per-step metrics, the summary, saved rollout files and the settings."""

    path: Path
    metrics: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    config_text: str | None = None
    rollout_files: list[tuple[int, Path]] = field(default_factory=list)
    eval_before: dict | None = None
    eval_after: dict | None = None
    evals: dict[int, dict] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def domains(self) -> list[str]:
        """Every domain seen in any step's metrics or eval summary, sorted."""
        names: set[str] = set()
        for m in self.metrics:
            names.update(_as_dict(m.get("domains")))
        for ev in (self.eval_before, self.eval_after, *self.evals.values()):
            names.update(_as_dict(_as_dict(ev).get("accuracy")))
        return sorted(names)


@dataclass
class EvalRun:
    """A `thinkvl eval` folder: ``results.json`` (rendered generically) and its settings."""

    path: Path
    results: dict | None = None
    config_text: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class DemoRun:
    """A `thinkvl demo` folder: stage summary plus the RL (and maybe eval) sub-runs."""

    path: Path
    summary: dict = field(default_factory=dict)
    rl: RLRun | None = None
    eval: EvalRun | None = None
    config_text: str | None = None
    warnings: list[str] = field(default_factory=list)


Run = RLRun | DemoRun | EvalRun


def _as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def read_json(path: Path, warnings: list[str]) -> Any:
    """A JSON file's content, or None when absent; a damaged file becomes a warning."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        warnings.append(f"{path.name}: unreadable ({exc}); shown as missing")
        return None


def read_jsonl(path: Path, warnings: list[str] | None = None) -> list[dict]:
    """Objects of a JSON Lines file; a torn line (a crash mid-write) is skipped and counted."""
    records, bad = [], 0
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        if warnings is not None:
            warnings.append(f"{path.name}: unreadable ({exc})")
        return records
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(obj, dict):
            records.append(obj)
        else:
            bad += 1
    if bad and warnings is not None:
        warnings.append(f"{path.name}: skipped {bad} unreadable line(s)")
    return records


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
    except OSError:
        return None


# Per-step RL metrics renamed since older run folders were written: old name -> current name.
RENAMED_METRICS = {"invalid_rate": "no_signal_rate"}  # groups without signal; eval's invalid_rate differs


def current_names(record: dict) -> dict:
    """An RL step record with older metric names read as today's (old run folders stay readable)."""
    for old, new in RENAMED_METRICS.items():
        if old in record and new not in record:
            record[new] = record.pop(old)
    return record


def load_metrics(path: Path, warnings: list[str]) -> list[dict]:
    """Per-step records sorted by step; on a repeated step (an old resume) the last one wins."""
    by_step: dict[int, dict] = {}
    file = path / "metrics.jsonl"
    if not file.is_file():
        return []
    for record in read_jsonl(file, warnings):
        step = record.get("step")
        if isinstance(step, (int, float)) and not isinstance(step, bool) and math.isfinite(step):
            by_step[int(step)] = current_names(record)
    return [by_step[s] for s in sorted(by_step)]


def list_rollout_files(path: Path) -> list[tuple[int, Path]]:
    """``(step, file)`` for every ``rollouts/step_NNNNNN.jsonl``, oldest first."""
    folder = path / "rollouts"
    if not folder.is_dir():
        return []
    found = []
    for file in folder.iterdir():
        match = ROLLOUT_FILE.match(file.name)
        if match and file.is_file():
            found.append((int(match.group(1)), file))
    return sorted(found)


def count_lines(path: Path) -> int:
    """Rollouts in a file without parsing it (to say how many the page leaves out)."""
    try:
        with path.open("rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except OSError:
        return 0


def _eval_summary(value: Any) -> dict | None:
    return value if isinstance(value, dict) and value else None


def load_rl(path: Path) -> RLRun:
    """Everything the report shows about an RL run; absent parts stay empty."""
    run = RLRun(path=path)
    run.metrics = load_metrics(path, run.warnings)
    summary = read_json(path / "summary.json", run.warnings)
    run.summary = _as_dict(summary)
    run.config_text = read_text(path / "config.yaml")
    run.rollout_files = list_rollout_files(path)
    run.eval_before = _eval_summary(run.summary.get("eval_before")) or _eval_summary(
        read_json(path / "eval_before.json", run.warnings)
    )
    run.eval_after = _eval_summary(run.summary.get("eval_after")) or _eval_summary(
        read_json(path / "eval_after.json", run.warnings)
    )
    for key, value in _as_dict(run.summary.get("evals")).items():
        try:
            step = int(key)
        except (TypeError, ValueError):
            continue
        if _eval_summary(value):
            run.evals[step] = value
    if not run.metrics:
        run.warnings.append("metrics.jsonl missing or empty: no per-step charts")
    if not run.summary:
        run.warnings.append("summary.json missing: the run may still be going or have crashed")
    return run


def load_eval(path: Path) -> EvalRun:
    run = EvalRun(path=path)
    run.results = _as_dict(read_json(path / "results.json", run.warnings)) or None
    run.config_text = read_text(path / "config.yaml")
    return run


def load_demo(path: Path) -> DemoRun:
    run = DemoRun(path=path)
    run.summary = _as_dict(read_json(path / "summary.json", run.warnings))
    run.config_text = read_text(path / "config.yaml")
    if (path / "rl").is_dir():
        run.rl = load_rl(path / "rl")
    if (path / "eval" / "results.json").is_file():
        run.eval = load_eval(path / "eval")
    if not run.summary:
        run.warnings.append("summary.json missing: the demo may still be going or have crashed")
    return run


def detect_kind(path: Path) -> RunKind:
    """Which kind of run a folder holds, from the files present (see DESIGN.md run folders)."""
    if not path.is_dir():
        raise NotARunError(
            f"{path} is not a folder; give a run folder such as runs/demo or runs/demo/rl"
        )
    summary = read_json(path / "summary.json", [])
    if isinstance(summary, dict) and "stages" in summary:
        return "demo"
    if (path / "metrics.jsonl").is_file() or (path / "rollouts").is_dir():
        return "rl"
    if (path / "results.json").is_file():
        return "eval"
    if (path / "rl").is_dir() and (path / "rl" / "metrics.jsonl").is_file():
        return "demo"
    if isinstance(summary, dict) and "steps" in summary:
        return "rl"
    raise NotARunError(
        f"{path} holds no run: expected metrics.jsonl or rollouts/ (RL run), summary.json with "
        "'stages' or an rl/ sub-folder (demo), or results.json (eval run)"
    )


def load_run(path: Path) -> Run:
    """Load a run folder of whichever kind it is."""
    path = Path(path)
    kind = detect_kind(path)
    return {"rl": load_rl, "demo": load_demo, "eval": load_eval}[kind](path)
