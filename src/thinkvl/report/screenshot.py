"""Open a report in headless Chromium (Playwright) for a screenshot and its script errors.

Uses the system's Chromium (Debian: ``apt-get install chromium``); never downloads a browser.
Shared by ``thinkvl report --screenshot`` and the browser test, so both see the same page.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """``$THINKVL_CHROMIUM``, else a Chromium on PATH or in /usr/bin; None when there is none."""
    env = os.environ.get("THINKVL_CHROMIUM")
    if env and Path(env).is_file():
        return env
    for name in CANDIDATES:
        found = shutil.which(name) or (
            f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None
        )
        if found:
            return found
    return None


def launch(playwright, executable: str | None = None):
    """A headless Chromium browser from a running ``sync_playwright()`` context."""
    executable = executable or find_chromium()
    if executable is None:
        raise RuntimeError(
            "no Chromium found: install it (Debian: apt-get install chromium) or set "
            "THINKVL_CHROMIUM to its path"
        )
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)


def screenshot(
    html: str | Path, png: str | Path, width: int = 1280, full_page: bool = True
) -> list[str]:
    """Save a PNG of the page; returns the console errors and page errors seen while loading."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise RuntimeError(
            "screenshots need the playwright package: pip install playwright "
            "(it drives the system Chromium; no browser download needed)"
        ) from exc
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on(
                "console",
                lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.goto(Path(html).resolve().as_uri(), wait_until="load")
            page.screenshot(path=str(png), full_page=full_page)
        finally:
            browser.close()
    return errors
