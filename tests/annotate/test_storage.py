"""Storage: database URLs (with readable errors), and migrations that build exactly the schema
the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from thinkvl.annotate.db import check_connection, make_engine, normalize_url
from thinkvl.annotate.errors import DatabaseError
from thinkvl.annotate.migrate import current_revision, ensure_secret, head_revision, upgrade
from thinkvl.annotate.models import Base


@pytest.mark.parametrize("raw, backend, driver", [
    ("annotate.db", "sqlite", "sqlite"),
    ("sqlite:///x/annotate.db", "sqlite", "sqlite"),
    ("sqlite+pysqlite:///annotate.db", "sqlite", "sqlite"),
    ("postgresql://u:p@db.example/annot", "postgresql", "postgresql+psycopg"),
    ("postgres://u@db/annot", "postgresql", "postgresql+psycopg"),
    ("postgresql+psycopg2://u@db/annot", "postgresql", "postgresql+psycopg"),
])
def test_urls(raw, backend, driver):
    url = normalize_url(raw)
    assert (url.get_backend_name(), url.drivername) == (backend, driver)


@pytest.mark.parametrize("raw, message", [
    ("mysql://u@h/db", "unsupported database 'mysql'"),
    ("sqlite://", "in-memory SQLite database would lose every annotation"),
    ("sqlite:///:memory:", "in-memory"),
    ("postgresql://u:secret@host", "name the database after the host"),
    ("folder/", "is not a file name"),
    ("://nonsense", "cannot read database URL"),
])
def test_bad_urls_are_explained(raw, message):
    with pytest.raises(DatabaseError) as exc:
        normalize_url(raw)
    assert message in exc.value.message
    assert "secret" not in exc.value.message  # passwords never shown
    assert "sqlite:///" in exc.value.message or "name the database" in exc.value.message


def test_unreachable_server_and_missing_folder(tmp_path):
    with pytest.raises(DatabaseError, match=r"cannot connect to .*u:\*\*\*@127\.0\.0\.1:9/db"):
        check_connection(make_engine("postgresql://u:secret@127.0.0.1:9/db"))
    with pytest.raises(DatabaseError, match="does not exist"):
        make_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'x.db'}")


def test_migrations_build_the_models_schema(db_url):
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        before, after = upgrade(engine)
        assert (before, after) == (None, head_revision())
        assert upgrade(engine) == (head_revision(), head_revision())  # idempotent
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={
                "compare_type": True}), Base.metadata)
        assert diff == [], diff
        tables = set(inspect(engine).get_table_names())
        assert {"users", "projects", "memberships", "media", "tasks", "field_values",
                "draft_outputs", "events", "settings", "login_sessions", "alembic_version"} == tables
        secret = ensure_secret(engine)
        assert len(secret) > 40 and ensure_secret(engine) == secret  # kept across restarts
    finally:
        engine.dispose()


def test_a_database_from_a_newer_thinkvl_is_left_alone(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(DatabaseError, match="revision '9999', which this thinkvl does not know"):
        upgrade(engine)
    engine.dispose()
