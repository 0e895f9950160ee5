"""Tables (SQLAlchemy 2 ORM). The schema itself is created by the Alembic migrations in
``migrations/``; a test checks that these models and the migrations agree.

A task is one medium (video, frame folder or image) in one project. It holds one ``FieldValue``
row per field of the project config; that row keeps the model's draft, the annotator's value and
decision (accepted / edited / rejected), the reviewer's value and verdict, the resolution of a
conflict and the final value, each with who and when. ``Task.version`` is the optimistic lock:
every change bumps it, and a save that names an older version is refused.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("annotator", "reviewer", "admin")
TASK_STATUSES = ("open", "in_progress", "submitted", "accepted")
DRAFT_STATUSES = ("none", "queued", "running", "done", "failed", "skipped")
FIELD_STATUSES = ("pending", "accepted", "edited", "rejected")
REVIEW_STATUSES = ("agree", "changed")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


Json = JSON(none_as_null=True)


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """Server-wide values kept across restarts (the session-signing secret)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)  # site admin: every project
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginSession(Base):
    """A logged-in browser. The cookie holds a random token; the database holds its SHA-256, so
    logging out (or an admin) can revoke it: a signed cookie alone stayed valid for 14 days
    after logout (issue 20, finding 9)."""

    __tablename__ = "login_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(Json)  # the validated ProjectConfig
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "project_id", name="uq_membership"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                            index=True)
    role: Mapped[str] = mapped_column(String(16))
    user: Mapped[User] = relationship(lazy="joined")


class Media(Base):
    __tablename__ = "media"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(16))  # image | video | frames
    path: Mapped[str] = mapped_column(String(1024))  # relative to the media root
    name: Mapped[str] = mapped_column(String(255))  # shown to people
    mime: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fps: Mapped[float | None] = mapped_column(Float, nullable=True)
    frames: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_video(self) -> bool:
        return self.kind in ("video", "frames")


class Task(Base):
    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                            index=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    annotator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    draft_status: Mapped[str] = mapped_column(String(16), default="none")
    draft_model: Mapped[str | None] = mapped_column(String(255), nullable=True)
    draft_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    drafted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # reviewer's note on return
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    media: Mapped[Media] = relationship(lazy="joined")
    project: Mapped[Project] = relationship(lazy="joined")
    fields: Mapped[list[FieldValue]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="FieldValue.id")
    annotator: Mapped[User | None] = relationship(foreign_keys=[annotator_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])


class FieldValue(Base):
    __tablename__ = "field_values"
    __table_args__ = (UniqueConstraint("task_id", "field", name="uq_field_value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    # the model's version (null + has_draft False: the model gave nothing usable: "no draft")
    draft: Mapped[Any] = mapped_column(Json, nullable=True)
    has_draft: Mapped[bool] = mapped_column(Boolean, default=False)
    # the annotator's version
    value: Mapped[Any] = mapped_column(Json, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    annotated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    annotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the reviewer's version and verdict; a "changed" verdict is a conflict to resolve
    review_value: Mapped[Any] = mapped_column(Json, nullable=True)
    review_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(16), nullable=True)  # annotator|reviewer
    final: Mapped[Any] = mapped_column(Json, nullable=True)

    task: Mapped[Task] = relationship(back_populates="fields")
    annotated_by: Mapped[User | None] = relationship(foreign_keys=[annotated_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])


class DraftOutput(Base):
    """What the model said for one field of one task, verbatim, for audits of the parser."""

    __tablename__ = "draft_outputs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(255))
    prompt: Mapped[str] = mapped_column(Text)
    output: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """An append-only log of who did what to which task, and when."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"),
                                                nullable=True, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[Any] = mapped_column(Json, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
