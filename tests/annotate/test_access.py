"""Accounts and access over real HTTP (the app served by uvicorn), on SQLite and PostgreSQL:
logging in, roles, nobody reaching another project's tasks or media, CSRF on every change,
validated uploads, optimistic locking, and errors that read as messages, not tracebacks."""

from __future__ import annotations

import io
import json

import av
import numpy as np
import pytest
from annotate_helpers import Client, make_projects
from PIL import Image
from sqlalchemy import select

from thinkvl.annotate.app import Settings, create_app
from thinkvl.annotate.db import make_engine, session_factory
from thinkvl.annotate.models import FieldValue, Task, User
from thinkvl.annotate.server import BackgroundServer


@pytest.fixture
def site(db_url, tmp_path):
    media = tmp_path / "media"
    demo = make_projects(db_url, media, videos=1, images=1)
    app = create_app(Settings(db=db_url, media_root=media, max_request_mb=5))
    with BackgroundServer(app) as server:
        clients: list[Client] = []

        def client(user: str | None = None) -> Client:
            c = Client(server.url)
            if user:
                r = c.login(user, demo.users[user])
                assert r.status_code == 303 and r.headers["location"] == "/", r.text
            clients.append(c)
            return c

        yield demo, client, db_url
        for c in clients:
            c.close()


def png_bytes(size: int = 32, noise: bool = False) -> bytes:
    arr = np.random.default_rng(0).integers(0, 255, (size, size, 3), dtype=np.uint8) if noise \
        else np.full((size, size, 3), 200, np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def webm_bytes(tmp_path) -> bytes:
    path = tmp_path / "clip.webm"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libvpx-vp9", rate=4)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        for i in range(8):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 30, np.uint8),
                                               format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path.read_bytes()


def test_login_and_sessions(site):
    demo, client, db = site
    anon = client()
    r = anon.http.get("/p/demo")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/p/demo"
    r = anon.api("GET", "/api/tasks/1")
    assert r.status_code == 401 and r.json()["message"] == "please log in"
    r = anon.login("alice", "wrong password")
    assert r.status_code == 400 and "Wrong user name or password" in r.text
    assert anon.http.get("/").status_code == 303  # still not logged in
    r = anon.login("nobody", "whatever-pw")
    assert r.status_code == 400
    alice = client("alice")
    assert alice.http.get("/").status_code == 200
    engine = make_engine(db)
    with session_factory(engine)() as s:
        hashes = [u.password_hash for u in s.scalars(select(User))]
    engine.dispose()
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert not any(pw in h for h in hashes for pw in demo.users.values())
    r = alice.http.post("/logout", data={"csrf_token": alice.csrf})
    assert r.status_code == 303
    assert alice.http.get("/").status_code == 303
    # a login page may not redirect elsewhere after logging in
    c = client()
    c.refresh_csrf()
    r = c.http.post("/login", data={"csrf_token": c.csrf, "username": "alice",
                                    "password": demo.users["alice"], "next": "//evil.test/x"})
    assert r.headers["location"] == "/"


def test_nobody_reaches_another_projects_tasks(site):
    demo, client, db = site
    carol = client("carol")  # a member of "other" only
    task, media = demo.tasks[0], demo.tasks[0]  # the demo seed gives media ids = task ids
    for path in (f"/t/{task}", "/p/demo", f"/media/{media}", f"/media/{media}/frame/0",
                 "/p/demo/next"):
        r = carol.http.get(path)
        assert r.status_code == 403, path
        assert "not a member of project &#39;demo&#39;" in r.text, path
        assert "Traceback" not in r.text
    for method, path, body in (
            ("GET", f"/api/tasks/{task}", None),
            ("PUT", f"/api/tasks/{task}/fields", {"version": 1, "fields": {
                "caption": {"value": "written from outside"}}}),
            ("POST", f"/api/tasks/{task}/submit", {"version": 1}),
            ("PUT", f"/api/tasks/{task}/review", {"version": 1, "fields": {
                "caption": {"agree": True}}}),
            ("GET", "/api/projects/demo/stats", None)):
        r = carol.api(method, path, body)
        assert r.status_code == 403, (method, path)
        assert "not a member of project 'demo'" in r.json()["message"]
    r = carol.http.post("/p/demo/export", data={"csrf_token": carol.csrf})
    assert r.status_code == 403
    # her own project works, and alice is as shut out of it as carol is of hers
    assert carol.http.get(f"/t/{demo.other_tasks[0]}").status_code == 200
    alice = client("alice")
    assert alice.api("GET", f"/api/tasks/{demo.other_tasks[0]}").status_code == 403
    engine = make_engine(db)
    with session_factory(engine)() as s:
        caption = s.scalar(select(FieldValue).where(FieldValue.task_id == task,
                                                    FieldValue.field == "caption"))
        assert caption.value is None and s.get(Task, task).version == 1
    engine.dispose()


def test_roles_within_a_project(site):
    demo, client, _ = site
    alice, bob, admin = client("alice"), client("bob"), client("admin")
    task = demo.tasks[0]
    assert alice.api("GET", f"/api/tasks/{task}").json()["mode"] == "annotate"
    r = alice.api("PUT", f"/api/tasks/{task}/review", {"version": 1, "fields": {}})
    assert r.status_code == 403 and "only a reviewer or above" in r.json()["message"]
    assert alice.api("GET", "/api/projects/demo/stats").status_code == 403
    assert alice.http.get("/admin").status_code == 403
    r = alice.http.post("/p/demo/upload", data={"csrf_token": alice.csrf},
                        files={"files": ("a.png", png_bytes(), "image/png")})
    assert r.status_code == 403
    assert alice.http.post("/p/demo/export", data={"csrf_token": alice.csrf}).status_code == 403
    stats = bob.api("GET", "/api/projects/demo/stats")
    assert stats.status_code == 200 and stats.json()["progress"]["total"] == 2
    assert bob.http.post("/p/demo/export", data={"csrf_token": bob.csrf}).status_code == 403
    r = admin.http.post("/p/demo/export", data={"csrf_token": admin.csrf})
    assert r.status_code == 200 and r.content[:2] == b"PK"  # a zip
    r = admin.http.post("/p/demo/members", data={"csrf_token": admin.csrf, "username": "carol",
                                                 "role": "reviewer"})
    assert r.status_code == 303
    carol = client("carol")
    assert carol.api("GET", "/api/projects/demo/stats").status_code == 200


def test_every_change_needs_the_sessions_csrf_token(site):
    demo, client, _ = site
    alice, bob = client("alice"), client("bob")
    path = f"/api/tasks/{demo.tasks[0]}/fields"
    body = {"version": 1, "fields": {"caption": {"value": "x"}}}
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": bob.csrf}):
        r = alice.http.put(path, json=body, headers=headers)
        assert r.status_code == 403 and "CSRF" in r.json()["message"], headers
    assert alice.http.post("/logout").status_code == 403  # a form without its token
    assert alice.http.get("/").status_code == 200  # …did not log her out
    anon = client()
    r = anon.http.post("/login", data={"username": "alice", "password": demo.users["alice"]})
    assert r.status_code == 403
    assert alice.api("PUT", path, body).status_code == 200  # with the token it works


def test_uploads_are_validated(site, tmp_path):
    demo, client, db = site
    admin = client("admin")

    def upload(name: str, data: bytes, project: str = "demo", accept_json: bool = True):
        headers = {"Accept": "application/json"} if accept_json else {}
        return admin.http.post(f"/p/{project}/upload", data={"csrf_token": admin.csrf},
                               files={"files": (name, data, "application/octet-stream")},
                               headers=headers)

    r = upload("still.png", png_bytes())
    assert r.status_code == 200 and len(r.json()["tasks"]) == 1
    r = upload("clip.webm", webm_bytes(tmp_path))
    assert r.status_code == 200
    video_task = r.json()["tasks"][0]
    view = admin.api("GET", f"/api/tasks/{video_task}").json()
    assert view["media"]["kind"] == "video" and view["media"]["frames"] == 8
    assert view["media"]["duration"] == pytest.approx(2.0)
    r = admin.http.get(view["media"]["url"], headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100  # seekable in the player
    r = upload("notes.png", b"these are not pixels at all")
    assert r.status_code == 415 and "not an image or video file" in r.json()["message"]
    r = upload("photo.mp4", png_bytes())
    assert r.status_code == 415 and "named .mp4 but its contents are PNG" in r.json()["message"]
    r = upload("broken.png", png_bytes()[:60])
    assert r.status_code == 415 and "not a readable image" in r.json()["message"]
    r = upload("page.html", b"<html><script>alert(1)</script>", accept_json=False)
    assert r.status_code == 415 and "<h1>Wrong file type</h1>" in r.text
    # a project with a 5 kB limit, made through the admin page
    small = ("name: Small\nmedia: {max_upload_mb: 0.005, allowed: [png]}\n"
             "fields: [{name: caption, type: caption}]\n")
    r = admin.http.post("/admin/projects", data={"csrf_token": admin.csrf, "config": small,
                                                 "slug": "small"})
    assert r.status_code == 303 and r.headers["location"] == "/p/small"
    r = upload("big.png", png_bytes(128, noise=True), project="small")
    assert r.status_code == 413 and "up to 0.005 MB" in r.json()["message"]
    r = upload("clip.webm", webm_bytes(tmp_path), project="small")
    assert r.status_code == 415 and "this project accepts png" in r.json()["message"]
    r = admin.http.post("/p/demo/upload", data={"csrf_token": admin.csrf},
                        files={"files": ("huge.png", b"\0" * 6_000_000, "image/png")})
    assert r.status_code == 413 and "larger than this server accepts" in r.text
    engine = make_engine(db)  # nothing half-added by the refused uploads
    with session_factory(engine)() as s:
        assert len(list(s.scalars(select(Task)))) == len(demo.tasks) + 3
    engine.dispose()
    stored = list((demo.media / "uploads").rglob("*.*"))
    assert len(stored) == 2  # the PNG and the WebM; refused files were removed


def test_bad_input_reads_as_a_message(site):
    demo, client, _ = site
    admin = client("admin")
    task = demo.tasks[0]
    r = admin.http.get("/t/99999")
    assert r.status_code == 404 and "no task 99999" in r.text
    r = admin.http.put(f"/api/tasks/{task}/fields", content=b"{not json",
                       headers={"X-CSRF-Token": admin.csrf, "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["message"].startswith("the request is malformed")
    r = admin.api("PUT", f"/api/tasks/{task}/fields",
                  {"version": 1, "fields": {"colour": {"value": "red"}}})
    assert r.status_code == 422 and "this task has no field 'colour'" in r.json()["message"]
    r = admin.api("PUT", f"/api/tasks/{task}/fields",
                  {"version": 1, "fields": {"shot_type": {"value": "macro"}}})
    body = r.json()
    assert r.status_code == 422 and body["field"] == "shot_type"
    assert "unknown label 'macro'" in body["message"]
    r = admin.http.post("/admin/projects", data={"csrf_token": admin.csrf,
                                                 "config": "name: [unclosed"})
    assert r.status_code == 400 and "not valid YAML" in r.text and "Traceback" not in r.text
    r = admin.http.post("/admin/users", data={"csrf_token": admin.csrf, "username": "dave",
                                              "password": "short"})
    assert r.status_code == 400 and "at least 8 characters" in r.text


def test_a_stale_save_gets_409_naming_who_changed_the_task(site):
    demo, client, _ = site
    alice, admin = client("alice"), client("admin")
    task = demo.tasks[0]
    version = alice.api("GET", f"/api/tasks/{task}").json()["version"]
    assert admin.api("GET", f"/api/tasks/{task}").json()["version"] == version
    r = alice.api("PUT", f"/api/tasks/{task}/fields",
                  {"version": version, "fields": {"caption": {"value": "alice's words"}}})
    assert r.status_code == 200 and r.json()["version"] == version + 1
    r = admin.api("PUT", f"/api/tasks/{task}/fields",
                  {"version": version, "fields": {"caption": {"value": "admin's words"}}})
    assert r.status_code == 409
    body = r.json()
    assert body["by"] == "alice" and "changed by alice at" in body["message"]
    assert "Nothing was overwritten" in body["message"]
    view = admin.api("GET", f"/api/tasks/{task}").json()
    caption = next(f for f in view["fields"] if f["name"] == "caption")
    assert caption["value"] == "alice's words" and caption["annotated_by"] == "alice"
    assert json.loads(json.dumps(view))["version"] == version + 1
