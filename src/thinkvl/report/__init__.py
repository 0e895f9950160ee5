"""HTML run reports: one self-contained page per run folder (RL, demo or eval).

The report reads run folders (files), never trainer objects, and imports no torch, so it can
regenerate a page for any run — finished, crashed or copied from a cluster — on a laptop.
"""

from __future__ import annotations

from pathlib import Path

from thinkvl.report.inspector import InspectorLimits
from thinkvl.report.loaders import NotARunError, detect_kind, load_run

__all__ = ["InspectorLimits", "NotARunError", "build_report", "detect_kind", "load_run"]


def build_report(
    run_dir: str | Path, out: str | Path | None = None, limits: InspectorLimits | None = None
) -> Path:
    """Write the report of ``run_dir`` to ``out`` (default ``run_dir/report.html``); returns it.

    Raises :class:`NotARunError` when the folder holds no run."""
    from thinkvl.report.html import render_page  # matplotlib loads only when a page is built

    run_dir = Path(run_dir)
    page = render_page(load_run(run_dir), limits or InspectorLimits())
    target = Path(out) if out is not None else run_dir / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return target
