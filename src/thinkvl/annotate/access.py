"""Who may do what: roles per project (annotator < reviewer < admin); site admins are admin of
every project. Nobody reads or writes a task, a medium or a statistic outside their projects."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from thinkvl.annotate.errors import AnnotateError, Forbidden, NotFound
from thinkvl.annotate.models import ROLES, Media, Membership, Project, Task, User

RANK = {role: i for i, role in enumerate(ROLES)}
WHAT = {"annotator": "annotate", "reviewer": "review", "admin": "manage"}


def role_in(session: Session, user: User, project_id: int) -> str | None:
    if user.is_admin:
        return "admin"
    return session.scalar(select(Membership.role).where(
        Membership.user_id == user.id, Membership.project_id == project_id))


def require(session: Session, user: User, project: Project, at_least: str = "annotator") -> str:
    """The user's role in ``project``; Forbidden when it is below ``at_least``."""
    role = role_in(session, user, project.id)
    if role is None:
        raise Forbidden(f"you are not a member of project {project.slug!r}; ask its admin to "
                        "add you")
    if RANK[role] < RANK[at_least]:
        raise Forbidden(f"your role in {project.slug!r} is {role}; only a {at_least} or above "
                        f"may {WHAT[at_least]} here")
    return role


def project_for(session: Session, user: User, slug: str, at_least: str = "annotator") -> Project:
    project = session.scalar(select(Project).where(Project.slug == slug))
    if project is None:
        raise NotFound(f"no project {slug!r}")
    require(session, user, project, at_least)
    return project


MAX_ID = 2**31 - 1  # ids are 32-bit in PostgreSQL; a larger one in a URL failed in the driver


def task_for(session: Session, user: User, task_id: int, at_least: str = "annotator") -> Task:
    task = session.get(Task, task_id) if 0 < task_id <= MAX_ID else None
    if task is None:
        raise NotFound(f"no task {task_id}")
    require(session, user, task.project, at_least)
    return task


def media_for(session: Session, user: User, media_id: int) -> Media:
    media = session.get(Media, media_id) if 0 < media_id <= MAX_ID else None
    if media is None:
        raise NotFound(f"no media {media_id}")
    project = session.get(Project, media.project_id)
    require(session, user, project, "annotator")
    return media


def visible_projects(session: Session, user: User) -> list[tuple[Project, str]]:
    """(project, role) pairs the user can see, by name."""
    if user.is_admin:
        return [(p, "admin") for p in session.scalars(select(Project).order_by(Project.name))]
    rows = session.execute(select(Project, Membership.role).join(
        Membership, Membership.project_id == Project.id).where(Membership.user_id == user.id)
        .order_by(Project.name))
    return [(p, r) for p, r in rows]


def add_member(session: Session, project: Project, user: User, role: str) -> Membership:
    if role not in ROLES:
        raise AnnotateError(f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
    member = session.scalar(select(Membership).where(
        Membership.user_id == user.id, Membership.project_id == project.id))
    if member is None:
        member = Membership(user_id=user.id, project_id=project.id, role=role)
        session.add(member)
    else:
        member.role = role
    session.flush()
    return member
