"""The task workflow: annotators save and submit, reviewers review, resolve conflicts and accept.

Every change goes through ``_lock``: ``UPDATE tasks SET version = v + 1 WHERE id = … AND
version = v``. A client that saved with an older version than the database holds gets a
Conflict naming who changed the task and when, and nothing is written: two people editing one
task never silently overwrite each other. The update is the transaction's first write, so on
PostgreSQL the row lock serialises concurrent saves and on SQLite the database write lock does.

Field decisions: a value equal to the model's draft is *accepted*, a different one *edited*; a
draft removed without replacement is *rejected*. Saving is lenient (half-typed rows are kept),
submitting and accepting are strict.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from thinkvl.annotate.access import RANK, role_in
from thinkvl.annotate.config import FieldSpec, ProjectConfig
from thinkvl.annotate.errors import BadValue, Conflict, Forbidden
from thinkvl.annotate.fields import clean, same
from thinkvl.annotate.models import Event, FieldValue, Task, User, utcnow
from thinkvl.annotate.projects import project_config

EDITABLE = ("open", "in_progress")
DRAFT_BUSY = ("queued", "running")


def when(dt: datetime | None) -> str | None:
    return dt.isoformat(timespec="seconds") if dt else None


def conflict(session: Session, task: Task, version: int) -> Conflict:
    session.rollback()
    session.refresh(task)
    by = task.updated_by.username if task.updated_by else "the model's draft"
    at = task.updated_at.strftime("%H:%M:%S UTC") if task.updated_at else "?"
    return Conflict(
        f"This task was changed by {by} at {at} (version {task.version}; this page has version "
        f"{version}). Nothing was overwritten. Reload to see their changes; your unsaved edits "
        "stay on this page until you do.",
        version=task.version, by=by, at=when(task.updated_at))


def _lock(session: Session, task: Task, version: int, user: User | None) -> int:
    """Claim the next version of ``task`` or raise Conflict; returns the new version."""
    if not isinstance(version, int) or isinstance(version, bool):
        raise BadValue("the request must name the task version it was based on ('version')")
    res = session.execute(
        update(Task).where(Task.id == task.id, Task.version == version)
        .values(version=version + 1, updated_at=utcnow(),
                updated_by_id=user.id if user else None)
        .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise conflict(session, task, version)
    session.refresh(task)
    return version + 1


def _specs(task: Task) -> tuple[ProjectConfig, dict[str, FieldValue]]:
    return project_config(task.project), {fv.field: fv for fv in task.fields}


def _spec(cfg: ProjectConfig, name: str, rows: dict[str, FieldValue]) -> FieldSpec:
    if name not in rows:
        raise BadValue(f"this task has no field {name!r} (fields: {', '.join(rows)})")
    return cfg.field(name)


def _log(session: Session, task: Task, user: User | None, action: str, **detail: Any) -> None:
    session.add(Event(task_id=task.id, user_id=user.id if user else None, action=action,
                      detail=detail or None))


# -- annotation --------------------------------------------------------------------------------

def save_fields(session: Session, task: Task, user: User, version: int,
                changes: dict[str, dict]) -> int:
    """Save the annotator's values: ``{field: {"value": v}}`` or ``{field: {"reject": true}}``."""
    if task.status not in EDITABLE:
        raise Conflict(f"this task is {task.status.replace('_', ' ')} and can no longer be "
                       "edited; a reviewer can return it to you", version=task.version)
    if task.draft_status in DRAFT_BUSY:
        raise Conflict("the model is still drafting this task; the page fills in when it is "
                       "done (or skip the draft)", version=task.version)
    if not isinstance(changes, dict) or not changes:
        raise BadValue("nothing to save: send {field: {value: …}}")
    cfg, rows = _specs(task)
    decided: dict[str, tuple[Any, str]] = {}
    for name, change in changes.items():
        spec = _spec(cfg, name, rows)
        fv = rows[name]
        if not isinstance(change, dict):
            raise BadValue(f"{name}: expected {{value: …}} or {{reject: true}}")
        if change.get("reject"):
            decided[name] = (None, "rejected" if fv.has_draft else "accepted")
            continue
        if "value" not in change:
            raise BadValue(f"{name}: expected {{value: …}} or {{reject: true}}")
        value = clean(spec, change["value"], strict=False, duration=task.media.duration)
        decided[name] = (value, "accepted" if same(spec, value, fv.draft) else "edited")
    new_version = _lock(session, task, version, user)
    now = utcnow()
    for name, (value, status) in decided.items():
        fv = rows[name]
        fv.value, fv.status = value, status
        fv.annotated_by_id, fv.annotated_at = user.id, now
    if task.annotator_id is None:
        task.annotator_id = user.id
    if task.status == "open":
        task.status = "in_progress"
    _log(session, task, user, "save", fields={n: s for n, (_, s) in decided.items()},
         version=new_version)
    return new_version


def submit(session: Session, task: Task, user: User, version: int) -> int:
    if task.status not in EDITABLE:
        raise Conflict(f"this task is {task.status.replace('_', ' ')} already",
                       version=task.version)
    if task.draft_status in DRAFT_BUSY:
        raise Conflict("the model is still drafting this task", version=task.version)
    cfg, rows = _specs(task)
    pending = [cfg.field(n).title for n, fv in rows.items() if fv.status == "pending"]
    if pending:
        raise BadValue(f"decide every field before submitting (accept, edit or reject): "
                       f"{', '.join(pending)}", fields=[n for n, fv in rows.items()
                                                         if fv.status == "pending"])
    checked = {name: clean(cfg.field(name), fv.value, strict=True, duration=task.media.duration)
               for name, fv in rows.items()}
    new_version = _lock(session, task, version, user)
    for name, fv in rows.items():
        fv.value = checked[name]
    task.status, task.submitted_at = "submitted", utcnow()
    task.annotator_id = task.annotator_id or user.id
    task.reviewer_id, task.accepted_at = None, None
    for fv in rows.values():  # a returned task is reviewed afresh
        fv.review_value = fv.review_status = fv.resolution = fv.final = None
        fv.reviewed_by_id = fv.reviewed_at = None
    _log(session, task, user, "submit", version=new_version)
    return new_version


def skip_draft(session: Session, task: Task, user: User) -> int:
    """Annotate without waiting for the model (its late draft is then discarded)."""
    if task.draft_status not in DRAFT_BUSY:
        return task.version
    new_version = _lock(session, task, task.version, user)
    task.draft_status = "skipped"
    _log(session, task, user, "skip_draft", version=new_version)
    return new_version


# -- review --------------------------------------------------------------------------------------

def _reviewable(session: Session, task: Task, user: User) -> None:
    role = role_in(session, user, task.project_id)
    if role is None or RANK[role] < RANK["reviewer"]:
        raise Forbidden("only a reviewer or admin of this project may review")
    if task.status != "submitted":
        raise Conflict(f"this task is {task.status.replace('_', ' ')}; only submitted tasks are "
                       "reviewed", version=task.version)
    if task.annotator_id == user.id:
        raise Forbidden("you annotated this task; a second person must review it")


def save_review(session: Session, task: Task, user: User, version: int,
                changes: dict[str, dict]) -> int:
    """Per field: ``{"agree": true}``, ``{"value": v}`` (the reviewer's own value; a different
    value is a conflict) and/or ``{"resolution": "annotator"|"reviewer"}``."""
    _reviewable(session, task, user)
    if not isinstance(changes, dict) or not changes:
        raise BadValue("nothing to save: send {field: {agree: true} | {value: …}}")
    cfg, rows = _specs(task)
    plan: dict[str, tuple[Any, str, str | None]] = {}
    for name, change in changes.items():
        spec = _spec(cfg, name, rows)
        fv = rows[name]
        if not isinstance(change, dict):
            raise BadValue(f"{name}: expected {{agree: true}}, {{value: …}} or {{resolution: …}}")
        resolution = change.get("resolution")
        if resolution not in (None, "annotator", "reviewer"):
            raise BadValue(f"{name}: resolution must be 'annotator' or 'reviewer'")
        if change.get("agree"):
            plan[name] = (fv.value, "agree", None)
        elif "value" in change:
            value = clean(spec, change["value"], strict=False, duration=task.media.duration)
            agree = same(spec, value, fv.value)
            plan[name] = (value, "agree" if agree else "changed",
                          None if agree else resolution or fv.resolution or "reviewer")
        elif resolution is not None:
            if fv.review_status != "changed":
                raise BadValue(f"{spec.title}: there is no conflict to resolve")
            plan[name] = (fv.review_value, "changed", resolution)
        else:
            raise BadValue(f"{name}: expected {{agree: true}}, {{value: …}} or {{resolution: …}}")
    new_version = _lock(session, task, version, user)
    now = utcnow()
    for name, (value, status, resolution) in plan.items():
        fv = rows[name]
        fv.review_value, fv.review_status, fv.resolution = value, status, resolution
        fv.reviewed_by_id, fv.reviewed_at = user.id, now
    task.reviewer_id = user.id
    _log(session, task, user, "review", fields={n: s for n, (_, s, _r) in plan.items()},
         version=new_version)
    return new_version


def accept(session: Session, task: Task, user: User, version: int) -> int:
    _reviewable(session, task, user)
    cfg, rows = _specs(task)
    missing = [cfg.field(n).title for n, fv in rows.items() if fv.review_status is None]
    if missing:
        raise BadValue(f"review every field before accepting (agree or correct): "
                       f"{', '.join(missing)}", fields=[n for n, fv in rows.items()
                                                         if fv.review_status is None])
    finals = {}
    for name, fv in rows.items():
        final = fv.review_value if fv.review_status == "changed" and \
            fv.resolution != "annotator" else fv.value
        finals[name] = clean(cfg.field(name), final, strict=True, duration=task.media.duration)
    new_version = _lock(session, task, version, user)
    for name, fv in rows.items():
        fv.final = finals[name]
    task.status, task.accepted_at, task.reviewer_id = "accepted", utcnow(), user.id
    conflicts = {n: fv.resolution for n, fv in rows.items() if fv.review_status == "changed"}
    _log(session, task, user, "accept", conflicts=conflicts, version=new_version)
    return new_version


def return_task(session: Session, task: Task, user: User, version: int, note: str = "") -> int:
    """Send a submitted task back to its annotator with a note."""
    _reviewable(session, task, user)
    new_version = _lock(session, task, version, user)
    task.status, task.note = "in_progress", (note or "").strip()[:2000] or None
    _log(session, task, user, "return", note=task.note, version=new_version)
    return new_version


# -- views ---------------------------------------------------------------------------------------

def _name(user: User | None) -> str | None:
    return user.username if user else None


def task_view(session: Session, task: Task, user: User) -> dict[str, Any]:
    """Everything the task page shows, as JSON."""
    cfg = project_config(task.project)
    role = role_in(session, user, task.project_id) or "annotator"
    can_review = RANK[role] >= RANK["reviewer"]
    if task.status in EDITABLE:
        mode = "annotate"
    elif task.status == "submitted" and can_review and task.annotator_id != user.id:
        mode = "review"
    else:
        mode = "view"
    m = task.media
    media = {"id": m.id, "kind": m.kind, "name": m.name, "fps": m.fps, "frames": m.frames,
             "duration": m.duration, "width": m.width, "height": m.height,
             "url": f"/media/{m.id}"}
    if m.kind == "frames":
        media["frame_urls"] = [f"/media/{m.id}/frame/{i}" for i in range(m.frames or 0)]
    fields = []
    by_name = {fv.field: fv for fv in task.fields}
    for spec in cfg.fields:
        fv = by_name.get(spec.name)
        if fv is None:
            continue
        fields.append({
            "name": spec.name, "type": spec.type, "title": spec.title, "help": spec.help,
            "labels": spec.labels, "drafted": spec.draft,
            "draft": fv.draft, "has_draft": fv.has_draft, "value": fv.value, "status": fv.status,
            "annotated_by": _name(fv.annotated_by), "annotated_at": when(fv.annotated_at),
            "review_value": fv.review_value, "review_status": fv.review_status,
            "reviewed_by": _name(fv.reviewed_by), "reviewed_at": when(fv.reviewed_at),
            "resolution": fv.resolution, "final": fv.final,
        })
    return {
        "id": task.id, "version": task.version, "status": task.status, "mode": mode,
        "role": role, "project": {"slug": task.project.slug, "name": task.project.name,
                                  "instructions": cfg.instructions},
        "media": media,
        "draft": {"status": task.draft_status, "model": task.draft_model,
                  "error": task.draft_error, "at": when(task.drafted_at)},
        "annotator": _name(task.annotator), "reviewer": _name(task.reviewer),
        "updated_by": _name(task.updated_by), "updated_at": when(task.updated_at),
        "submitted_at": when(task.submitted_at), "accepted_at": when(task.accepted_at),
        "note": task.note, "fields": fields, "me": user.username,
    }


def next_task(session: Session, project_id: int, user: User, review: bool = False) -> Task | None:
    """The next task for ``user``: their own unfinished one first, then the oldest open one
    (annotation); or the oldest submitted task someone else annotated (review)."""
    if review:
        return session.scalar(select(Task).where(
            Task.project_id == project_id, Task.status == "submitted",
            (Task.annotator_id != user.id) | Task.annotator_id.is_(None)).order_by(Task.id))
    mine = session.scalar(select(Task).where(
        Task.project_id == project_id, Task.status == "in_progress",
        Task.annotator_id == user.id).order_by(Task.id))
    if mine is not None:
        return mine
    return session.scalar(select(Task).where(
        Task.project_id == project_id, Task.status == "open").order_by(Task.id))


def count_by_status(session: Session, project_id: int) -> dict[str, int]:
    rows = session.execute(select(Task.status, func.count()).where(
        Task.project_id == project_id).group_by(Task.status))
    out = {s: 0 for s in ("open", "in_progress", "submitted", "accepted")}
    out.update({s: n for s, n in rows})
    out["total"] = sum(out[s] for s in ("open", "in_progress", "submitted", "accepted"))
    return out
