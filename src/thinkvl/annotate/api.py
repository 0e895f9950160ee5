"""The JSON API the task page talks to (autosave, submit, review). Every answer that changes a
task carries the task's new state, version included."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from thinkvl.annotate import access, stats, workflow
from thinkvl.annotate.deps import current_user, get_db
from thinkvl.annotate.models import User

router = APIRouter(prefix="/api")


# Row ids and versions are 32-bit integers in PostgreSQL (64-bit in SQLite): larger numbers
# in a request are refused as malformed (422) instead of failing in the driver (a 500).
MAX_INT = 2**31 - 1


class Versioned(BaseModel):
    version: int = Field(ge=0, le=MAX_INT)


class FieldsBody(Versioned):
    fields: dict[str, dict[str, Any]] = Field(default_factory=dict)


class ReturnBody(Versioned):
    note: str = ""


def _done(session: Session, task, user: User) -> dict[str, Any]:
    session.commit()
    session.refresh(task)
    return workflow.task_view(session, task, user)


@router.get("/tasks/{task_id}")
def get_task(task_id: int, user: User = Depends(current_user),
             session: Session = Depends(get_db)) -> dict[str, Any]:
    return workflow.task_view(session, access.task_for(session, user, task_id), user)


@router.put("/tasks/{task_id}/fields")
def save_fields(task_id: int, body: FieldsBody, user: User = Depends(current_user),
                session: Session = Depends(get_db)) -> dict[str, Any]:
    task = access.task_for(session, user, task_id)
    workflow.save_fields(session, task, user, body.version, body.fields)
    return _done(session, task, user)


@router.post("/tasks/{task_id}/submit")
def submit(task_id: int, body: Versioned, user: User = Depends(current_user),
           session: Session = Depends(get_db)) -> dict[str, Any]:
    task = access.task_for(session, user, task_id)
    workflow.submit(session, task, user, body.version)
    return _done(session, task, user)


@router.post("/tasks/{task_id}/skip-draft")
def skip_draft(task_id: int, user: User = Depends(current_user),
               session: Session = Depends(get_db)) -> dict[str, Any]:
    task = access.task_for(session, user, task_id)
    workflow.skip_draft(session, task, user)
    return _done(session, task, user)


@router.put("/tasks/{task_id}/review")
def review(task_id: int, body: FieldsBody, user: User = Depends(current_user),
           session: Session = Depends(get_db)) -> dict[str, Any]:
    task = access.task_for(session, user, task_id, "reviewer")
    workflow.save_review(session, task, user, body.version, body.fields)
    return _done(session, task, user)


@router.post("/tasks/{task_id}/accept")
def accept(task_id: int, body: Versioned, user: User = Depends(current_user),
           session: Session = Depends(get_db)) -> dict[str, Any]:
    task = access.task_for(session, user, task_id, "reviewer")
    workflow.accept(session, task, user, body.version)
    return _done(session, task, user)


@router.post("/tasks/{task_id}/return")
def return_task(task_id: int, body: ReturnBody, user: User = Depends(current_user),
                session: Session = Depends(get_db)) -> dict[str, Any]:
    task = access.task_for(session, user, task_id, "reviewer")
    workflow.return_task(session, task, user, body.version, body.note)
    return _done(session, task, user)


@router.get("/projects/{slug}/stats")
def project_stats(slug: str, user: User = Depends(current_user),
                  session: Session = Depends(get_db)) -> dict[str, Any]:
    project = access.project_for(session, user, slug, "reviewer")
    return stats.dashboard(session, project)
