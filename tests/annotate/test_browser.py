"""The real page in headless Chromium against the served app: an annotator corrects the tiny
model's draft of a synthetic video with the keyboard and the player, a reviewer resolves a
conflict, an admin reads the dashboard and downloads an export that passes `thinkvl data check`;
two people editing one task; an uploaded WebM in the video player."""

from __future__ import annotations

import json
import zipfile

import pytest
from annotate_helpers import Client, data_check, make_projects, page_login
from test_access import webm_bytes

from thinkvl.annotate.app import Settings, create_app
from thinkvl.annotate.drafts import ModelDrafter
from thinkvl.annotate.server import BackgroundServer

DRAFT_READY = '#draft-state[data-status="done"], #draft-state[data-status="failed"]'


@pytest.fixture(scope="module")
def drafter(tiny_model):
    return ModelDrafter(tiny_model)  # loaded once, shared by the module's servers


@pytest.fixture
def site(db_url, tmp_path, drafter, browser):
    media = tmp_path / "media"
    demo = make_projects(db_url, media, videos=1, images=1)
    app = create_app(Settings(db=db_url, media_root=media, drafter=drafter))
    contexts = []

    def person(name: str):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  accept_downloads=True)
        contexts.append(ctx)
        page = ctx.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
        page_login(page, server.url, name, demo.users[name])
        return page

    with BackgroundServer(app) as server:
        yield server.url, demo, person
        for ctx in contexts:
            ctx.close()


def expect(locator):
    """Playwright's auto-waiting assertion, for what a page shows after an action that may still
    be loading or saving (imported late: the `chromium` fixture explains a missing playwright)."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=15_000)  # a bound on a hang, generous for busy CI
    return playwright_expect(locator)


def field(page, name: str):
    return page.locator(f'.field[data-field="{name}"]')


def api_task(page, task_id: int) -> dict:
    return page.evaluate(f"fetch('/api/tasks/{task_id}').then(r => r.json())")


def wait_saved(page) -> None:
    page.wait_for_selector('#save-state[data-state="saved"]', timeout=15_000)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # storage is covered on both
def test_annotate_review_export_end_to_end(site, drafter, tmp_path):  # backends elsewhere
    base, _, person = site
    alice = person("alice")
    card = alice.locator(".project-card[data-project='demo']")
    assert "0 / 2 accepted" in card.inner_text()
    card.click()
    alice.click("#next-task")
    alice.wait_for_url(f"{base}/t/*")
    task_id = int(alice.url.rsplit("/", 1)[1])
    alice.wait_for_selector(DRAFT_READY, timeout=60_000)
    view = api_task(alice, task_id)
    assert view["draft"]["status"] == "done" and view["draft"]["model"] == drafter.name
    drafts = {f["name"]: f for f in view["fields"]}
    for name, f in drafts.items():  # every field shows the model's draft or says it has none
        text = field(alice, name).locator(".draft-text").inner_text()
        assert (text != "—" and "no draft" not in text) if f["has_draft"] else "no draft" in text

    # the player: frame stepping with the keyboard, timestamps shown
    assert alice.inner_text("#time").startswith("0.00 s · frame 1 / 4")
    field(alice, "actions").locator("h3").click()
    alice.keyboard.press("s")  # a new segment starting now (0 s); focus is in its text box
    alice.keyboard.type("the square moves to the right")
    alice.keyboard.press("Escape")
    alice.keyboard.press("ArrowRight")
    alice.keyboard.press("ArrowRight")
    assert alice.inner_text("#time").startswith("1.00 s · frame 3 / 4")
    alice.keyboard.press("]")  # the segment ends with frame 3: 1.5 s
    row = field(alice, "actions").locator(".row").first
    assert row.locator("input.start").input_value() == "0"
    assert row.locator("input.end").input_value() == "1.5"

    field(alice, "scene_text").locator("h3").click()
    alice.keyboard.press("s")
    alice.keyboard.type("EXIT")
    alice.keyboard.press("Escape")
    alice.keyboard.press("ArrowRight")
    alice.keyboard.press("]")
    text_row = field(alice, "scene_text").locator(".row").first
    assert text_row.locator("input.start").input_value() == "1"
    assert text_row.locator("input.end").input_value() == "2"

    field(alice, "camera_motion").locator("h3").click()
    alice.keyboard.press("2")  # the second label: pan
    alice.keyboard.press("j")  # next field: shot type
    if drafts["shot_type"]["has_draft"]:
        alice.keyboard.press("r")  # reject the model's guess
    else:
        field(alice, "shot_type").locator("select").select_option("wide")
    alice.keyboard.press("j")
    alice.keyboard.press("a")  # angle: accept the draft (or confirm there is nothing to add)
    field(alice, "composition").locator("select").select_option("centered")
    field(alice, "caption").locator("textarea").fill("A red square slides to the right.")
    wait_saved(alice)

    expected = {
        "actions": [{"start": 0.0, "end": 1.5, "action": "the square moves to the right"}],
        "scene_text": [{"text": "EXIT", "start": 1.0, "end": 2.0, "box": None}],
        "camera_motion": "pan", "composition": "centered",
        "caption": "A red square slides to the right.",
        "shot_type": None if drafts["shot_type"]["has_draft"] else "wide",
        "angle": drafts["angle"]["draft"]}
    view = api_task(alice, task_id)
    got = {f["name"]: f for f in view["fields"]}
    assert {n: f["value"] for n, f in got.items()} == expected
    for name, f in got.items():  # the decision is measured against the model's draft
        if name == "shot_type" and drafts[name]["has_draft"]:
            assert f["status"] == "rejected"
        else:
            assert f["status"] == ("accepted" if f["value"] == drafts[name]["draft"]
                                   else "edited"), name
    assert field(alice, "camera_motion").locator(".status").inner_text() == \
        ("edited" if drafts["camera_motion"]["draft"] != "pan" else "accepted")

    alice.reload()  # a refresh loses nothing that was saved
    assert field(alice, "actions").locator("input.action").input_value() == \
        "the square moves to the right"
    assert field(alice, "camera_motion").locator("select").input_value() == "pan"
    assert alice.locator("#save-state").get_attribute("data-state") == "saved"

    alice.keyboard.press("Control+Enter")  # submit
    alice.wait_for_selector("#banner.ok")
    assert "Submitted for review" in alice.inner_text("#banner")
    assert alice.inner_text("#task-status") == "submitted"
    assert alice.errors == []

    bob = person("bob")
    bob.goto(f"{base}/p/demo/next?review=1")
    bob.wait_for_url(f"{base}/t/{task_id}")
    assert bob.inner_text("#mode-label") == "reviewing"
    assert "pan" in field(bob, "camera_motion").locator(".annotator-text").inner_text()
    for name in ("actions", "scene_text", "shot_type", "angle", "composition", "caption"):
        field(bob, name).locator("h3").click()
        bob.keyboard.press("a")  # agree
    field(bob, "camera_motion").locator("select").select_option("static")
    conflict = field(bob, "camera_motion").locator(".resolution")
    conflict.wait_for(state="visible")
    conflict.locator("input[value='annotator']").check()  # pan was right after all
    wait_saved(bob)
    assert field(bob, "camera_motion").locator(".status").inner_text() == "conflict"
    bob.click("#accept-task")
    bob.wait_for_selector("#banner.ok")
    assert bob.inner_text("#task-status") == "accepted"
    assert bob.errors == []

    admin = person("admin")
    admin.goto(f"{base}/p/demo")
    assert "1 / 2 accepted" in admin.inner_text("#progress-counts")
    agreement = admin.locator("#agreement tr[data-field='camera_motion']").inner_text()
    assert "0%" in agreement.split("\t") and agreement.split("\t")[5] == "1"
    edits = admin.locator("#edit-rates tr[data-field='actions']").inner_text().split("\t")
    assert edits[1] == "1"  # decided once
    assert "alice" in admin.inner_text("#people")
    with admin.expect_download() as dl:
        admin.click("#export")
    archive = tmp_path / "export.zip"
    dl.value.save_as(archive)
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path / "unzipped")
    out = tmp_path / "unzipped" / "demo-export"
    check = data_check(out)
    assert check.returncode == 0, check.stdout + check.stderr
    caption = json.loads((out / "captions.jsonl").read_text().splitlines()[0])
    assert "[0s - 1.5s] the square moves to the right" in caption["messages"][1]["content"]
    prov = caption["meta"]["provenance"]
    assert (prov["annotator"], prov["reviewer"]) == ("alice", "bob")
    assert prov["fields"]["camera_motion"]["origin"] == "human"
    assert prov["fields"]["camera_motion"]["reviewed_by"] == "bob"
    grounding = [json.loads(x) for x in (out / "grounding.jsonl").read_text().splitlines()]
    assert [g["answer"] for g in grounding] == ["0-1.5"]
    assert admin.errors == []


def test_two_people_on_one_task_never_overwrite_each_other(site):
    base, demo, person = site
    task_id = demo.tasks[1]
    alice, admin = person("alice"), person("admin")
    for page in (alice, admin):
        page.goto(f"{base}/t/{task_id}")
        page.wait_for_selector(DRAFT_READY, timeout=60_000)
    field(alice, "caption").locator("textarea").fill("alice was here first")
    wait_saved(alice)
    field(admin, "caption").locator("textarea").fill("admin's competing text")
    admin.wait_for_selector("#banner.conflict", timeout=15_000)
    message = admin.inner_text("#banner")
    assert "changed by alice at" in message and "Nothing was overwritten" in message
    assert admin.locator("#save-state").get_attribute("data-state") == "conflict"
    admin.errors.remove("Failed to load resource: the server responded with a status of 409 "
                        "(Conflict)")  # the refused save, as expected
    # admin's text stays on the page (not lost), but never reaches the database
    assert field(admin, "caption").locator("textarea").input_value() == "admin's competing text"
    caption = next(f for f in api_task(admin, task_id)["fields"] if f["name"] == "caption")
    assert caption["value"] == "alice was here first"
    admin.click("#reload")  # the old page matches what follows until the new one is there
    expect(field(admin, "caption").locator("textarea")).to_have_value("alice was here first")
    admin.wait_for_selector(DRAFT_READY)
    expect(admin.locator("#banner")).to_be_hidden()
    hostile = 'admin builds on it <img src=x onerror="document.title=\'owned\'">'
    field(admin, "caption").locator("textarea").fill(hostile)
    wait_saved(admin)  # with the fresh version the save goes through
    alice.reload()  # alice sees admin's text as text: nothing in it runs
    alice.wait_for_selector(DRAFT_READY)
    assert field(alice, "caption").locator("textarea").input_value() == hostile
    assert alice.title() != "owned" and alice.locator("img[src=x]").count() == 0
    assert alice.errors == [] and admin.errors == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_uploaded_video_is_validated_drafted_and_playable(site, tmp_path):
    base, _, person = site
    admin = person("admin")
    admin.goto(f"{base}/p/demo")
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    admin.set_input_files("#upload-files", str(bad))
    admin.click("#upload-form button[type=submit]")
    expect(admin.locator("h1")).to_contain_text("Wrong file type")
    expect(admin.locator("#error-message")).to_contain_text("not an image or video file")
    admin.errors.clear()  # the refused upload's 415 page, expected
    clip = tmp_path / "clip.webm"
    clip.write_bytes(webm_bytes(tmp_path))
    admin.goto(f"{base}/p/demo")
    admin.set_input_files("#upload-files", str(clip))
    admin.click("#upload-form button[type=submit]")
    expect(admin.locator(".flash")).to_contain_text("Added 1 task(s)")
    admin.click("text=clip.webm")
    admin.wait_for_selector(DRAFT_READY, timeout=60_000)
    assert admin.locator("#draft-state").get_attribute("data-status") == "done"
    admin.wait_for_function("document.querySelector('#video').readyState >= 1")
    assert admin.inner_text("#time").startswith("0.00 s · frame 1 / 8")
    admin.locator("#stage").click()
    admin.keyboard.press("ArrowRight")
    admin.keyboard.press("ArrowRight")
    admin.wait_for_function("document.querySelector('#time').textContent.startsWith('0.50 s')")
    assert "frame 3 / 8" in admin.inner_text("#time")
    assert admin.errors == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_edits_typed_while_saving_fails_survive_a_reload(site):
    """The network stays down until the reloaded page has shown what it restored: lifted any
    earlier, the old page's own retry (500 ms after a failed save) can save the edit before the
    reload, and then there is nothing to restore (the race a busy CI machine hit)."""
    base, demo, person = site
    task_id = demo.tasks[0]
    fields_api = "**/api/tasks/*/fields"
    alice = person("alice")
    alice.goto(f"{base}/t/{task_id}")
    alice.wait_for_selector(DRAFT_READY, timeout=60_000)
    alice.route(fields_api, lambda route: route.abort())  # the network drops
    field(alice, "caption").locator("textarea").fill("typed while offline")
    alice.wait_for_selector('#save-state[data-state="offline"]', timeout=15_000)
    alice.on("dialog", lambda d: d.accept())  # "leave with unsaved changes?" — yes
    alice.reload()
    alice.wait_for_selector(DRAFT_READY)
    # restored from the page's local backup; saved once the server answers again
    expect(alice.locator("#banner")).to_contain_text("Restored 1 edit(s)")
    expect(field(alice, "caption").locator("textarea")).to_have_value("typed while offline")
    alice.unroute(fields_api)
    wait_saved(alice)
    caption = next(f for f in api_task(alice, task_id)["fields"] if f["name"] == "caption")
    assert caption["value"] == "typed while offline"

    # offline again, and this time someone else changes the task before alice's page returns
    alice.route(fields_api, lambda route: route.abort())
    field(alice, "caption").locator("textarea").fill("alice's second thoughts")
    alice.wait_for_selector('#save-state[data-state="offline"]', timeout=15_000)
    admin = Client(base)
    admin.login("admin", demo.users["admin"])
    version = admin.api("GET", f"/api/tasks/{task_id}").json()["version"]
    assert admin.api("PUT", f"/api/tasks/{task_id}/fields", {
        "version": version, "fields": {"caption": {"value": "admin's fix"}}}).status_code == 200
    admin.close()
    alice.reload()
    alice.wait_for_selector(DRAFT_READY)
    expect(alice.locator("#banner")).to_contain_text(
        "not saved before the reload, and admin changed the task")
    expect(field(alice, "caption").locator("textarea")).to_have_value("admin's fix")
    alice.unroute(fields_api)
    alice.click("#reapply")  # her choice, after looking
    wait_saved(alice)
    caption = next(f for f in api_task(alice, task_id)["fields"] if f["name"] == "caption")
    assert caption["value"] == "alice's second thoughts"
