"""The report in a real headless browser (system Chromium driven by Playwright): it loads with
no script errors, hostile responses do not execute, and the inspector's filters work."""

from __future__ import annotations

from pathlib import Path

import pytest

from thinkvl.report.screenshot import find_chromium, launch

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found (Debian: apt-get install chromium, "
    "or set THINKVL_CHROMIUM to a Chromium binary)",
)


@pytest.fixture(scope="module")
def page(rl_page: Path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the playwright package is a test dependency: pip install playwright "
            "(it drives the system Chromium; no browser download)"
        )

    errors: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = launch(p, CHROMIUM)
        pg = browser.new_page(viewport={"width": 1280, "height": 900})
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.goto(rl_page.resolve().as_uri(), wait_until="load")
        pg.errors, pg.dialogs = errors, dialogs
        yield pg
        browser.close()


def visible(page) -> list[dict]:
    return page.eval_on_selector_all(
        "article.ro",
        "els => els.filter(e => !e.hidden && e.offsetParent !== null)"
        ".map(e => ({domain: e.dataset.domain, step: e.dataset.step,"
        " flags: e.dataset.flags.split(' '), sus: e.dataset.sus}))",
    )


def reset(page) -> None:
    for sel in ("#f-domain", "#f-step", "#f-flag", "#f-outcome"):
        page.select_option(sel, "")
    page.fill("#f-text", "")


def test_loads_without_errors_and_nothing_executes(page) -> None:
    assert page.errors == []
    assert page.dialogs == []  # the <script>alert(1)</script> response stays text
    assert page.locator("text=<script>alert(1)</script>").count() >= 1
    total = page.locator("article.ro").count()
    assert page.inner_text("#f-count") == f"{total} of {total} shown"
    charts = page.eval_on_selector_all("img.chart", "els => els.map(e => e.naturalWidth)")
    assert len(charts) >= 6 and all(w > 300 for w in charts)
    thumbs = page.eval_on_selector_all(
        ".thumb:not(.none)", "els => els.map(e => getComputedStyle(e).backgroundImage.slice(0, 15))"
    )
    assert thumbs and all(t == 'url("data:image' for t in thumbs)


def test_domain_filter(page) -> None:
    reset(page)
    everything = visible(page)
    page.select_option("#f-domain", "ocr")
    rows = visible(page)
    assert rows and all(r["domain"] == "ocr" for r in rows)
    assert len(rows) == sum(r["domain"] == "ocr" for r in everything) < len(everything)
    assert page.inner_text("#f-count").startswith(f"{len(rows)} of ")


def test_flag_and_suspicious_filters(page) -> None:
    reset(page)
    page.select_option("#f-flag", "hedged")
    rows = visible(page)
    assert rows and all("hedged" in r["flags"] for r in rows)
    page.select_option("#f-flag", "__sus")
    rows = visible(page)
    assert rows and all(r["sus"] == "1" for r in rows)
    page.select_option("#f-domain", "video")  # nothing suspicious there
    assert visible(page) == [] and page.is_visible("#f-empty")


def test_step_filter_and_search(page) -> None:
    reset(page)
    steps = {r["step"] for r in visible(page)}
    assert len(steps) > 1
    step = min(steps)
    page.select_option("#f-step", step)
    rows = visible(page)
    assert rows and all(r["step"] == step for r in rows)
    page.select_option("#f-step", "")
    page.fill("#f-text", "between 0 and 10")
    rows = visible(page)
    assert rows and all(r["domain"] == "counting" for r in rows)


def test_inspect_link_filters_domain(page) -> None:
    reset(page)
    page.click('a[data-inspect="counting"]')
    assert page.input_value("#f-domain") == "counting"
    assert page.input_value("#f-flag") == "__sus"
    rows = visible(page)
    assert rows and all(r["domain"] == "counting" and r["sus"] == "1" for r in rows)
    assert page.errors == []
