"""Database URLs and engines: an SQLite file by default, PostgreSQL (psycopg 3) by URL.

``annotate.db`` or ``sqlite:///annotate.db`` is an embedded SQLite file (WAL journal, foreign
keys on, a busy timeout so concurrent requests wait instead of failing); ``postgresql://…`` is
rewritten to the psycopg 3 driver. A malformed URL or an unreachable server is a DatabaseError
that names the (password-free) URL and the fix.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from thinkvl.annotate.errors import DatabaseError

DEFAULT_DB = "sqlite:///annotate.db"
ENV_DB = "THINKVL_ANNOTATE_DB"
_HINT = ("use sqlite:///PATH.db (or just PATH.db) for a file, or "
         "postgresql://USER:PASSWORD@HOST:PORT/DATABASE for PostgreSQL")


def normalize_url(raw: str | None) -> URL:
    """A SQLAlchemy URL from what a person typed (a path, sqlite:///…, postgresql://…)."""
    raw = (raw or os.environ.get(ENV_DB) or DEFAULT_DB).strip()
    if "://" not in raw:  # a bare path
        if not raw or raw.endswith(("/", os.sep)):
            raise DatabaseError(f"database {raw!r} is not a file name; {_HINT}")
        raw = f"sqlite:///{Path(raw).expanduser()}"
    try:
        url = make_url(raw)
    except ArgumentError:
        raise DatabaseError(f"cannot read database URL {raw!r}; {_HINT}") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.drivername != "sqlite":
            url = url.set(drivername="sqlite")
        if not url.database or url.database == ":memory:":
            raise DatabaseError("an in-memory SQLite database would lose every annotation when "
                                f"the server stops; {_HINT}")
        return url
    if backend in ("postgresql", "postgres"):
        if url.drivername not in ("postgresql+psycopg",):
            url = url.set(drivername="postgresql+psycopg")
        if not url.host and not url.query.get("host"):
            url = url.set(host="localhost")
        if not url.database:
            raise DatabaseError(f"{safe_url(url)}: name the database after the host "
                                f"(…/DATABASE); {_HINT}")
        return url
    raise DatabaseError(f"unsupported database {backend!r} in {safe_url(url)}; {_HINT}")


def safe_url(url: URL | str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        u = make_url(url) if isinstance(url, str) else url
        return u.render_as_string(hide_password=True)
    except ArgumentError:
        return "<unreadable URL>"


def make_engine(raw: str | URL | None) -> Engine:
    url = raw if isinstance(raw, URL) else normalize_url(raw)
    if url.get_backend_name() == "sqlite":
        folder = Path(url.database).expanduser().resolve().parent
        if not folder.is_dir():
            raise DatabaseError(f"{safe_url(url)}: folder {folder} does not exist; create it "
                                "or choose another path")
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                               connect_args={"connect_timeout": 10})
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cur.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def check_connection(engine: Engine) -> None:
    """Connect once, so a wrong host or password fails now with a readable message."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(f"cannot connect to {safe_url(engine.url)}: {reason}") from None
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot use {safe_url(engine.url)}: {exc}") from None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
