"""Screenshot a run report in headless Chromium, to look at the page without opening a browser.

Builds ``report.html`` for RUN_DIR (an RL, demo or eval run folder) and saves a PNG of it; with
no RUN_DIR it writes an example demo folder (the test fixtures' file formats) to a temp folder
first. Prints script errors seen while loading and exits 1 if there were any. Needs the
``playwright`` package and a system Chromium (Debian: ``apt-get install chromium``).

    python bench/screenshot_report.py runs/demo --out report.png
    python bench/screenshot_report.py --out example.png --viewport-only   # example run
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "run_dir", nargs="?", type=Path, help="run folder (default: an example demo)"
    )
    parser.add_argument("--out", type=Path, default=Path("report.png"), help="PNG to write")
    parser.add_argument("--html", type=Path, default=None, help="where to write the HTML page")
    parser.add_argument("--width", type=int, default=1280, help="viewport width in pixels")
    parser.add_argument(
        "--viewport-only", action="store_true", help="first screen, not the full page"
    )
    args = parser.parse_args()

    from thinkvl.report import build_report
    from thinkvl.report.screenshot import screenshot

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run_dir
        if run_dir is None:
            sys.path.insert(0, str(ROOT / "tests" / "report"))
            from report_runfolders import make_demo_run

            run_dir = make_demo_run(Path(tmp) / "demo", steps=24)
        html = build_report(run_dir, args.html or Path(tmp) / "report.html")
        errors = screenshot(html, args.out, width=args.width, full_page=not args.viewport_only)
    print(f"screenshot: {args.out}" + (f" (page: {args.html})" if args.html else ""))
    for error in errors:
        print(error, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
