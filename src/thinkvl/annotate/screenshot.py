"""``thinkvl annotate screenshot``: pictures of the real pages for people, taken in headless
Chromium (Playwright, the system's Chromium) on a throw-away demo project: the log-in page, a
task being annotated from a model draft, the review of it, and the project dashboard."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

DRAFT_DONE = '#draft-state[data-status="done"], #draft-state[data-status="failed"]'


def login(page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_url(f"{base}/")


def wait_saved(page, timeout: float = 15_000) -> None:
    page.wait_for_selector('#save-state[data-state="saved"]', timeout=timeout)


def take_screenshots(out: Path, model: Path | None = None, width: int = 1440,
                     log: Callable[[str], None] = print, videos: int = 3) -> list[Path]:
    from thinkvl.annotate.app import Settings, create_app
    from thinkvl.annotate.demo import seed
    from thinkvl.annotate.server import BackgroundServer
    from thinkvl.report.screenshot import find_chromium, launch

    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise RuntimeError("screenshots need the playwright package: pip install playwright "
                           "(it drives the system Chromium; nothing is downloaded)") from exc
    if find_chromium() is None:
        raise RuntimeError("no Chromium found: install it (Debian: apt-get install chromium) "
                           "or set THINKVL_CHROMIUM to its path")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="thinkvl-annotate-demo-") as tmp:
        root = Path(tmp)
        db = f"sqlite:///{root / 'annotate.db'}"
        demo = seed(db, root / "media", videos=videos, images=1)
        if model is None:
            from thinkvl.model.factory import build_tiny

            log("building a tiny random model to draft with (its drafts are gibberish)")
            model = build_tiny(root / "model")
        app = create_app(Settings(db=db, media_root=root / "media", model=model))
        with BackgroundServer(app) as server, sync_playwright() as pw:
            browser = launch(pw)
            try:
                base = server.url

                def shot(page, name: str, full: bool = False) -> None:
                    path = out / name
                    page.evaluate("window.scrollTo(0, 0)")
                    page.screenshot(path=str(path), full_page=full)
                    shots.append(path)

                ctx = browser.new_context(viewport={"width": width, "height": 940})
                page = ctx.new_page()
                page.goto(f"{base}/login")
                shot(page, "1-login.png")
                login(page, base, "alice", demo.users["alice"])
                page.goto(f"{base}/p/{demo.project}/next")
                page.wait_for_selector(DRAFT_DONE, timeout=180_000)
                _annotate(page)
                shot(page, "2-annotate.png", full=True)
                page.click("#submit")
                page.wait_for_selector("#banner.ok")
                ctx.close()

                ctx = browser.new_context(viewport={"width": width, "height": 940})
                page = ctx.new_page()
                login(page, base, "bob", demo.users["bob"])
                page.goto(f"{base}/p/{demo.project}/next?review=1")
                page.wait_for_selector(".field")
                _review(page)
                shot(page, "3-review.png", full=True)
                page.click("#accept-task")
                page.wait_for_selector("#banner.ok")
                ctx.close()

                ctx = browser.new_context(viewport={"width": width, "height": 940})
                page = ctx.new_page()
                login(page, base, "admin", demo.users["admin"])
                page.goto(f"{base}/p/{demo.project}")
                shot(page, "4-dashboard.png", full=True)
                ctx.close()
            finally:
                browser.close()
    return shots


def _annotate(page) -> None:
    """Decide every field the way a person would, mostly with the keyboard."""
    page.locator('.field[data-field="actions"]').click()
    page.keyboard.press("s")  # a segment starting at frame 1
    page.keyboard.type("the shape moves across the frame")
    page.keyboard.press("Escape")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("]")
    for field in page.locator(".field").all():
        name = field.get_attribute("data-field")
        if name == "actions":
            continue
        if name == "camera_motion":
            field.locator("select").select_option("static")
        elif name == "shot_type":
            field.locator("select").select_option("wide")
        elif name == "caption":
            field.locator("textarea").fill("A coloured shape on a white background.")
        else:
            field.locator("button.accept").click()
    wait_saved(page)


def _review(page) -> None:
    for field in page.locator(".field").all():
        if field.get_attribute("data-field") == "shot_type":
            field.locator("select").select_option("medium")
        else:
            field.locator("button.agree").click()
    wait_saved(page)
