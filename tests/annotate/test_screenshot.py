"""`thinkvl annotate screenshot`: pictures of the real pages for people (log-in, annotation from
a model draft, review with a conflict, dashboard), taken on a throw-away demo project."""

from __future__ import annotations

from PIL import Image

from thinkvl.annotate.screenshot import take_screenshots


def test_screenshots_of_every_page(chromium, tiny_model, tmp_path):
    shots = take_screenshots(tmp_path / "shots", model=tiny_model, width=1280, log=lambda _: None,
                             videos=1)
    assert [p.name for p in shots] == ["1-login.png", "2-annotate.png", "3-review.png",
                                       "4-dashboard.png"]
    for path in shots:
        with Image.open(path) as img:
            assert img.width == 1280 and img.height >= 900, path
            # a real page, not a blank one: many distinct colours
            assert len(img.convert("RGB").getcolors(1 << 20) or []) > 50, path
