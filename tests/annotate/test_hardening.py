"""Issue 20 against the annotation app over real HTTP (SQLite and PostgreSQL): frames linked
out of the media root (finding 4), anonymous request bodies (5), login throttling and
revocable sessions (9), huge ids and decompression bombs (10), and no import cycle."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zipfile
import zlib

import pytest
from annotate_helpers import Client, make_projects
from sqlalchemy import select

from thinkvl.annotate.app import Settings, create_app
from thinkvl.annotate.db import make_engine, session_factory
from thinkvl.annotate.models import Media
from thinkvl.annotate.server import BackgroundServer

SECRET = "root:x:0:0:the secret outside the media folder\n"


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
                assert c.login(user, demo.users[user]).status_code == 303
            clients.append(c)
            return c

        yield demo, client, db_url, tmp_path
        for c in clients:
            c.close()


def _frames_media(db: str) -> Media:
    engine = make_engine(db)
    with session_factory(engine)() as s:
        media = s.scalars(select(Media).where(Media.kind == "frames")).first()
    engine.dispose()
    return media


def test_a_frame_linked_out_of_the_media_root_is_never_served(site):
    demo, client, db, tmp_path = site
    secret = tmp_path / "passwd"
    secret.write_text(SECRET)
    media = _frames_media(db)
    folder = demo.media / media.path
    (folder / "frame_999.png").symlink_to(secret)
    (folder / "frame_000.png").unlink()
    (folder / "frame_000.png").symlink_to(secret)  # the first frame, served by /media/{id}
    admin = client("admin")
    n = len(list(folder.iterdir()))
    for index in range(n + 1):
        r = admin.http.get(f"/media/{media.id}/frame/{index}")
        assert "the secret" not in r.text, index
    assert "the secret" not in admin.http.get(f"/media/{media.id}").text
    r = admin.http.post(f"/p/{demo.project}/export", data={"csrf_token": admin.csrf})
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert not any(b"the secret" in z.read(name) for name in z.namelist())


def test_anonymous_bodies_are_refused_before_they_are_read(site):
    """A 300 MB POST to /login without a token was spooled to disk before its 403."""
    _, client, _, _ = site
    anon = client()
    r = anon.http.post("/login", files={"files": ("x.bin", b"\0" * 2_000_000)})
    assert r.status_code == 413
    r = anon.http.post("/login", files={"f": ("x.bin", b"tiny")})
    assert r.status_code == 403 and "log in first" in r.text


def test_logins_are_throttled_per_account_and_per_address(site):
    demo, client, _, _ = site
    anon = client()
    for _ in range(5):
        assert anon.login("alice", "wrong password").status_code == 400
    r = anon.login("alice", demo.users["alice"])  # even the right password, for now
    assert r.status_code == 429 and "too many failed logins for this account" in r.text
    assert client("bob").http.get("/").status_code == 200  # other accounts are unaffected
    for i in range(15):  # 20 failures from this address in all
        anon.login(f"nobody{i}", "wrong password")
    r = anon.login("admin", demo.users["admin"])
    assert r.status_code == 429 and "for this address" in r.text


def test_logout_revokes_the_session_cookie(site):
    """A session cookie kept working after logout (for its 14 days)."""
    _, client, _, _ = site
    alice = client("alice")
    stolen = dict(alice.http.cookies)
    assert alice.http.post("/logout", data={"csrf_token": alice.csrf}).status_code == 303
    thief = client()
    thief.http.cookies.update(stolen)
    r = thief.http.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert thief.api("GET", "/api/projects/demo/stats").status_code == 401


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


def test_huge_ids_versions_and_bombs_read_as_messages(site):
    demo, client, _, _ = site
    admin = client("admin")
    task = demo.tasks[0]
    for big in (2**31, 2**63, 10**30):
        for path in (f"/t/{big}", f"/media/{big}", f"/media/{big}/frame/0"):
            assert admin.http.get(path).status_code == 404, path
        assert admin.api("GET", f"/api/tasks/{big}").status_code == 404
        r = admin.api("PUT", f"/api/tasks/{task}/fields",
                      {"version": big, "fields": {"caption": {"value": "x"}}})
        assert r.status_code == 422, big
        assert admin.api("POST", f"/api/tasks/{task}/submit", {"version": big}).status_code == 422
    r = admin.http.post("/p/demo/upload", data={"csrf_token": admin.csrf},
                        files={"files": ("bomb.png", _png_header(20000, 20000), "image/png")},
                        headers={"Accept": "application/json"})
    assert r.status_code == 415 and "pixels" in r.json()["message"]


def test_app_imports_the_routers_and_not_the_reverse():
    code = ("import sys; import thinkvl.annotate.pages, thinkvl.annotate.api; "
            "assert 'thinkvl.annotate.app' not in sys.modules, 'a router imports app'")
    subprocess.run([sys.executable, "-c", code], check=True)
