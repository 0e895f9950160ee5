"""Shared helpers for the annotation tests: a scripted drafter, an HTTP client that logs in like
a browser, projects with several accounts, and the real `thinkvl data check`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import select

from thinkvl.annotate import access
from thinkvl.annotate.auth import create_user
from thinkvl.annotate.config import DraftSettings, load_config
from thinkvl.annotate.db import make_engine, session_factory, session_scope
from thinkvl.annotate.demo import seed
from thinkvl.annotate.models import Project
from thinkvl.annotate.projects import create_project, import_media

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO / "configs" / "annotate_project.yaml"
# A second project and its only member, for the access tests.
OUTSIDER = ("carol", "carol-test-pw")


def test_config():
    """The example label set, with short model budgets so the tiny model drafts quickly."""
    cfg = load_config(EXAMPLE_CONFIG)
    return cfg.model_copy(update={"draft": DraftSettings(think_budget=4, answer_budget=16)})


class Scripted:
    """Stands in for the model where a test needs known drafts (the real tiny model drafts
    gibberish): answers per field name, verbatim, parsed by the real parser."""

    name = "scripted-vlm"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.calls = 0

    def complete(self, requests, settings):
        self.calls += 1
        return [self.answers.get(r.field, "") for r in requests]


def make_projects(db: str, media: Path, videos: int = 2, images: int = 1):
    """The demo project (admin, alice annotator, bob reviewer) plus a project 'other' whose only
    member is carol; returns the Demo record (with ``other_tasks``)."""
    demo = seed(db, media, config=test_config(), videos=videos, images=images)
    engine = make_engine(db)
    with session_scope(session_factory(engine)) as session:
        other = create_project(session, test_config(), "other")
        carol = create_user(session, *OUTSIDER)
        access.add_member(session, other, carol, "annotator")
        (media / "other").mkdir(parents=True, exist_ok=True)
        src = next((media / "demo").glob("clip-*"))
        dest = media / "other" / src.name
        dest.mkdir(exist_ok=True)
        for f in src.iterdir():
            (dest / f.name).write_bytes(f.read_bytes())
        demo.other_tasks = [t.id for t in import_media(session, other, media, [dest]).added]
        demo.users[OUTSIDER[0]] = OUTSIDER[1]
    engine.dispose()
    return demo


def project_id(db: str, slug: str) -> int:
    engine = make_engine(db)
    with session_factory(engine)() as session:
        pid = session.scalar(select(Project.id).where(Project.slug == slug))
    engine.dispose()
    return pid


class Client:
    """An HTTP session that logs in through the form, like a browser, and sends the CSRF
    token on every change."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        self.csrf = ""

    def refresh_csrf(self) -> str:
        page = self.http.get("/login").text
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        return self.csrf

    def login(self, user: str, password: str) -> httpx.Response:
        self.refresh_csrf()
        r = self.http.post("/login", data={"csrf_token": self.csrf, "username": user,
                                           "password": password, "next": "/"})
        self.refresh_csrf()  # a new login gets a new token
        return r

    def api(self, method: str, path: str, json=None, csrf: bool = True) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return self.http.request(method, path, json=json, headers=headers)

    def close(self) -> None:
        self.http.close()


def data_check(folder: Path) -> subprocess.CompletedProcess:
    """The real `thinkvl data check` over every JSONL file of an export."""
    files = sorted(str(p) for p in folder.glob("*.jsonl"))
    return subprocess.run([sys.executable, "-m", "thinkvl.cli", "data", "check", *files],
                          check=False, capture_output=True, text=True, timeout=120,
                          env={"COLUMNS": "200", "PATH": "", "OMP_WAIT_POLICY": "PASSIVE"})


def page_login(page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_url(f"{base}/")
