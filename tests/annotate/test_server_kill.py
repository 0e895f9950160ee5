"""Nothing is lost when the server dies: the real `thinkvl annotate serve` in a subprocess,
fields autosaved from the page, the server killed with SIGKILL and started again; every saved
field is back after a reload, an edit typed while the server was down is saved once it returns,
and the login survives the restart. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from annotate_helpers import make_projects, page_login
from sqlalchemy import select

from thinkvl.annotate.db import make_engine, session_factory
from thinkvl.annotate.models import User
from thinkvl.annotate.server import free_port


def start_server(db: str, media, port: int, log) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "thinkvl.cli", "annotate", "serve", "--db", db, "--media",
           str(media), "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    deadline = time.monotonic() + 300  # bounds a hang; a busy machine starts slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.flush()
            raise AssertionError(f"the server exited ({proc.returncode}):\n"
                                 + Path(log.name).read_text())
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not come up within 300 s")


def stop(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        proc.wait(30)


def test_a_killed_server_loses_no_saved_field(db_url, tmp_path, browser):
    media = tmp_path / "media"
    demo = make_projects(db_url, media, videos=1, images=0)
    port = free_port()
    with (tmp_path / "server.log").open("w") as log:
        _kill_and_restart(db_url, media, port, log, demo, browser)
    # the real server hashes at production cost: logging in re-hashed the cheap test hash
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        alice = s.scalar(select(User).where(User.username == "alice"))
        assert alice.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    engine.dispose()


def _kill_and_restart(db_url, media, port, log, demo, browser) -> None:
    task = demo.tasks[0]
    base = f"http://127.0.0.1:{port}"
    procs = [start_server(db_url, media, port, log)]
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = ctx.new_page()
        page_login(page, base, "alice", demo.users["alice"])
        page.goto(f"{base}/t/{task}")
        page.wait_for_selector('#draft-state[data-status="none"]')  # served without a model
        page.locator('.field[data-field="caption"] textarea').fill("saved before the crash")
        page.locator('.field[data-field="camera_motion"] select').select_option("tilt")
        page.locator('.field[data-field="actions"] h3').click()
        page.keyboard.press("s")
        page.keyboard.type("a square appears")
        page.keyboard.press("Escape")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("]")
        page.wait_for_selector('#save-state[data-state="saved"]', timeout=15_000)

        stop(procs[0], signal.SIGKILL)  # no shutdown, no flush: the process just dies
        page.locator('.field[data-field="composition"] select').select_option("centered")
        page.wait_for_selector('#save-state[data-state="offline"]', timeout=15_000)
        assert "server unreachable" in page.inner_text("#save-state")

        procs.append(start_server(db_url, media, port, log))
        # the page keeps retrying and gets the edit typed during the outage through
        page.wait_for_selector('#save-state[data-state="saved"]', timeout=30_000)
        page.reload()
        assert page.url == f"{base}/t/{task}"  # still logged in: the session outlived the crash
        assert page.locator('.field[data-field="caption"] textarea').input_value() == \
            "saved before the crash"
        assert page.locator('.field[data-field="camera_motion"] select').input_value() == "tilt"
        assert page.locator('.field[data-field="composition"] select').input_value() == "centered"
        row = page.locator('.field[data-field="actions"] .row').first
        assert row.locator("input.action").input_value() == "a square appears"
        assert row.locator("input.end").input_value() == "1"
        assert page.locator('.field[data-field="caption"] .status').inner_text() == "edited"
    finally:
        ctx.close()
        for p in procs:
            stop(p, signal.SIGTERM)
