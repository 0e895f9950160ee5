"""Schema migrations (Alembic, shipped in ``thinkvl/annotate/migrations``).

``upgrade`` brings any database to the newest schema; ``serve`` runs it on start and
``thinkvl annotate migrate`` runs it on demand. A database written by a newer thinkvl (a
revision this package does not know) is refused rather than touched.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from thinkvl.annotate.db import check_connection, safe_url
from thinkvl.annotate.errors import DatabaseError
from thinkvl.annotate.models import Setting

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate to the newest schema; returns (revision before, revision after)."""
    check_connection(engine)
    before = current_revision(engine)
    script = ScriptDirectory.from_config(alembic_config())
    if before is not None and not _known(script, before):
        raise DatabaseError(f"{safe_url(engine.url)} is at schema revision {before!r}, which this "
                            "thinkvl does not know (written by a newer version?); upgrade thinkvl")
    cfg = alembic_config()
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except (SQLAlchemyError, CommandError) as exc:
        raise DatabaseError(f"migrating {safe_url(engine.url)} failed: {exc}") from None
    ensure_secret(engine)
    return before, head_revision()


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def ensure_secret(engine: Engine) -> str:
    """The session-signing secret, created once and kept in the database so that logins survive
    a server restart."""
    with Session(engine) as session:
        row = session.scalar(select(Setting).where(Setting.key == "session_secret"))
        if row is None:
            row = Setting(key="session_secret", value=secrets.token_urlsafe(48))
            session.add(row)
            session.commit()
        return row.value
