"""Fixtures for the annotation tests: databases (SQLite files; a throw-away PostgreSQL cluster
when Debian's postgresql binaries are installed), a tiny drafting model, synthetic media, and a
headless Chromium shared per test module."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from thinkvl.report.screenshot import find_chromium

# Spin-waiting OpenMP threads make the in-process drafting model 10-30x slower on a busy
# two-core machine; this must be set before torch loads (as `thinkvl` itself does).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing():
    """argon2 at its production cost takes ~0.1 s per hash on two busy cores; the tests create
    and log in many accounts, so they hash with the cheapest parameters (still argon2id, still
    verified for real). test_access checks the production parameters separately."""
    from argon2 import PasswordHasher

    from thinkvl.annotate import auth

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(auth, "_hasher", cheap)
        mp.setattr(auth, "_DUMMY_HASH", cheap.hash("dummy"))
        yield


PG_ENV = "THINKVL_TEST_POSTGRES_URL"  # an existing server (…/postgres database) to use instead
BACKENDS = ["sqlite", "postgresql"]


def _pg_bin() -> Path | None:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit() else 0,
                  reverse=True)
    for d in dirs:
        if (Path(d) / "initdb").is_file() and (Path(d) / "pg_ctl").is_file():
            return Path(d)
    return None


def _free_port() -> int:
    from thinkvl.annotate.server import free_port

    return free_port()


class _Cluster:
    """initdb + pg_ctl in a temporary folder, on a free port, trust authentication."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="thinkvl-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root: use the postgres account
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no 'postgres' user to run "
                                   "the test cluster as") from None
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        out = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120,
                             check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {out.stderr or out.stdout}")

    def start(self) -> str:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--encoding=UTF8", "--no-sync")
        opts = f"-p {self.port} -h 127.0.0.1 -k {self.root} -F -c max_connections=60"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts,
                  "-l", str(self.root / "log"), "-w", "-t", "60", "start")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data),
                        "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_admin_url():
    """URL of a PostgreSQL server's maintenance database, or a skip reason (str)."""
    if os.environ.get(PG_ENV):
        yield os.environ[PG_ENV]
        return
    bindir = _pg_bin()
    if bindir is None:
        yield ("PostgreSQL is not installed (Debian: apt-get install postgresql; `make test` "
               f"does it), and {PG_ENV} is not set")
        return
    cluster = _Cluster(bindir)
    try:
        url = cluster.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        cluster.stop()
        yield f"could not start a throw-away PostgreSQL cluster: {exc}"
        return
    try:
        yield url
    finally:
        cluster.stop()


def _fresh_pg_database(admin_url: str) -> tuple[str, callable]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A fresh, empty database: an SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'annotate.db'}"
        return
    postgres_admin_url = request.getfixturevalue("postgres_admin_url")
    if isinstance(postgres_admin_url, str) and not postgres_admin_url.startswith("postgresql"):
        pytest.skip(postgres_admin_url)
    url, drop = _fresh_pg_database(postgres_admin_url)
    try:
        yield url
    finally:
        drop()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """The tiny GLM-4.1V-architecture model with the synthetic world's tokenizer (random
    weights: it drafts words, mostly gibberish)."""
    from thinkvl.model.factory import build_tiny

    return build_tiny(tmp_path_factory.mktemp("annotate-model"), seed=0)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium found (Debian: apt-get install chromium, or set "
                    "THINKVL_CHROMIUM); `make test` installs it")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("the playwright package is a test dependency: pip install -e '.[test]'")
    return path


@pytest.fixture(scope="module")
def browser(chromium):
    """One headless Chromium per test module."""
    from playwright.sync_api import sync_playwright

    from thinkvl.report.screenshot import launch

    with sync_playwright() as p:
        b = launch(p, chromium)
        yield b
        b.close()


def wait_until(cond, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
