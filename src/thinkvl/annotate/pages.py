"""Server-rendered pages: log in, projects, a project's dashboard, the task page, admin, media."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from thinkvl.annotate import access, stats
from thinkvl.annotate.auth import authenticate, create_user, csrf_token
from thinkvl.annotate.deps import SESSION_KEY, current_user, get_db, wants_json
from thinkvl.annotate.config import parse_config
from thinkvl.annotate.errors import Forbidden, NotFound, TooLarge
from thinkvl.annotate.export import export_project
from thinkvl.annotate.media import confined_frames, resolve, save_upload
from thinkvl.annotate.models import ROLES, Membership, Project, Task, User, utcnow
from thinkvl.annotate.projects import add_task, create_project, project_config
from thinkvl.annotate.sessions import TooManyLogins, close_session, open_session
from thinkvl.annotate.workflow import count_by_status, next_task, task_view

router = APIRouter()
TASKS_SHOWN = 500


def render(request: Request, name: str, user: User | None, code: int = 200, **ctx) -> Response:
    flashes = request.session.pop("flash", []) if "flash" in request.session else []
    return request.app.state.templates.TemplateResponse(
        request, name, {"user": user, "csrf": csrf_token(request.session), "flashes": flashes,
                        **ctx}, status_code=code)


def flash(request: Request, text: str, kind: str = "ok") -> None:
    request.session.setdefault("flash", []).append({"text": text, "kind": kind})


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


# -- log in / out -------------------------------------------------------------------------------

@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""),
          next: str = Form("/"), session: Session = Depends(get_db)) -> Response:
    throttle = request.app.state.throttle
    client = request.client.host if request.client else "?"
    try:
        throttle.check(username, client)  # before any password is tried
    except TooManyLogins as exc:
        return render(request, "login.html", None, code=429, next=_safe_next(next),
                      error=exc.message, username=username)
    user = authenticate(session, username, password)
    if user is None:
        throttle.failed(username, client)
        return render(request, "login.html", None, code=400, next=_safe_next(next),
                      error="Wrong user name or password.", username=username)
    throttle.succeeded(username)
    close_session(session, request.session.get(SESSION_KEY))  # a login replaces the old one
    token = open_session(session, user)
    session.commit()  # the session row (and a re-hashed password)
    request.session.clear()
    request.session[SESSION_KEY] = token
    csrf_token(request.session)  # a fresh token for the new login
    return back(_safe_next(next))


@router.post("/logout")
def logout(request: Request, session: Session = Depends(get_db)) -> Response:
    close_session(session, request.session.get(SESSION_KEY))  # the cookie is dead from now on
    session.commit()
    request.session.clear()
    return back("/login")


# -- projects -----------------------------------------------------------------------------------

@router.get("/")
def home(request: Request, user: User = Depends(current_user),
         session: Session = Depends(get_db)) -> Response:
    projects = [(p, role, count_by_status(session, p.id))
                for p, role in access.visible_projects(session, user)]
    return render(request, "home.html", user, projects=projects)


@router.get("/p/{slug}")
def project_page(request: Request, slug: str, status: str = "",
                 user: User = Depends(current_user), session: Session = Depends(get_db)):
    project = access.project_for(session, user, slug)
    role = access.role_in(session, user, project.id)
    query = select(Task).where(Task.project_id == project.id)
    if status:
        query = query.where(Task.status == status)
    tasks = list(session.scalars(query.order_by(Task.id).limit(TASKS_SHOWN)))
    members = list(session.scalars(select(Membership).where(
        Membership.project_id == project.id))) if role == "admin" else []
    cfg = project_config(project)
    return render(request, "project.html", user, project=project, role=role, tasks=tasks,
                  status=status, dash=stats.dashboard(session, project), members=members,
                  roles=ROLES, cfg=cfg, can_review=access.RANK[role] >= access.RANK["reviewer"],
                  allowed=", ".join("." + t for t in cfg.media.allowed))


@router.get("/p/{slug}/next")
def next_page(request: Request, slug: str, review: int = 0, user: User = Depends(current_user),
              session: Session = Depends(get_db)) -> Response:
    project = access.project_for(session, user, slug, "reviewer" if review else "annotator")
    task = next_task(session, project.id, user, review=bool(review))
    if task is None:
        flash(request, "Nothing to review right now." if review else
              "No open tasks left in this project.", "info")
        return back(f"/p/{slug}")
    return back(f"/t/{task.id}")


@router.post("/p/{slug}/upload")
def upload(request: Request, slug: str, files: list[UploadFile] = File(...),
           user: User = Depends(current_user), session: Session = Depends(get_db)) -> Response:
    project = access.project_for(session, user, slug, "admin")
    cfg = project_config(project)
    settings = request.app.state.settings
    limit = int(cfg.media.max_upload_mb * 1e6)
    dest = settings.media_root / "uploads" / project.slug
    added, worker = [], request.app.state.worker
    saved: list[Path] = []
    try:
        for f in files:
            if f.size is not None and f.size > limit:
                raise TooLarge(f"{f.filename!r} is {f.size / 1e6:.1f} MB; this project accepts "
                               f"uploads up to {cfg.media.max_upload_mb:g} MB")
            path, info = save_upload(f.file, f.filename or "", dest, allowed=cfg.media.allowed,
                                     max_bytes=limit, frame_fps=cfg.media.frame_fps)
            saved.append(path)
            rel = path.relative_to(settings.media_root).as_posix()
            task = add_task(session, project, rel, info, f.filename or path.name, user)
            task.draft_status = "queued" if worker is not None else "none"
            added.append(task)
        session.commit()
    except BaseException:
        session.rollback()
        for p in saved:  # nothing half-added: the files go with the failed request
            p.unlink(missing_ok=True)
        raise
    for task in added:
        if worker is not None:
            worker.enqueue(task.id)
    if wants_json(request):
        return JSONResponse({"tasks": [t.id for t in added]})
    flash(request, f"Added {len(added)} task(s)" + (" — the model is drafting them." if worker
                                                    else "."))
    return back(f"/p/{slug}")


@router.post("/p/{slug}/export")
def export(request: Request, slug: str, user: User = Depends(current_user),
           session: Session = Depends(get_db)) -> Response:
    project = access.project_for(session, user, slug, "admin")
    tmp = Path(tempfile.mkdtemp(prefix="thinkvl-export-"))
    try:
        folder = tmp / f"{project.slug}-export"
        export_project(session, project, request.app.state.settings.media_root, folder)
        archive = shutil.make_archive(str(tmp / f"{project.slug}-export"), "zip", tmp,
                                      folder.name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(archive, media_type="application/zip",
                        filename=f"{project.slug}-export.zip",
                        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True))


@router.post("/p/{slug}/members")
def add_member(request: Request, slug: str, username: str = Form(...), role: str = Form(...),
               user: User = Depends(current_user), session: Session = Depends(get_db)):
    project = access.project_for(session, user, slug, "admin")
    member = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if member is None:
        raise NotFound(f"no user {username!r}; a site admin creates accounts on the admin page")
    access.add_member(session, project, member, role)
    session.commit()
    flash(request, f"{member.username} is now {role} of {project.slug}.")
    return back(f"/p/{slug}")


# -- tasks ----------------------------------------------------------------------------------------

@router.get("/t/{task_id}")
def task_page(request: Request, task_id: int, user: User = Depends(current_user),
              session: Session = Depends(get_db)) -> Response:
    task = access.task_for(session, user, task_id)
    worker = request.app.state.worker
    if worker is not None and task.status == "open" and task.draft_status == "none":
        # added while the server had no model (or by `thinkvl annotate import`): draft it now
        session.execute(update(Task).where(Task.id == task.id, Task.draft_status == "none")
                        .values(draft_status="queued", version=Task.version + 1,
                                updated_at=utcnow())
                        .execution_options(synchronize_session=False))
        session.commit()
        session.refresh(task)
    if worker is not None and task.draft_status == "queued":
        worker.prioritize(task.id)
    view = task_view(session, task, user)
    return render(request, "task.html", user, task=view,
                  progress=count_by_status(session, task.project_id))


# -- admin ----------------------------------------------------------------------------------------

def _site_admin(user: User) -> None:
    if not user.is_admin:
        raise Forbidden("only a site admin may manage users and projects")


@router.get("/admin")
def admin_page(request: Request, user: User = Depends(current_user),
               session: Session = Depends(get_db)) -> Response:
    _site_admin(user)
    users = list(session.scalars(select(User).order_by(User.username)))
    projects = list(session.scalars(select(Project).order_by(Project.name)))
    return render(request, "admin.html", user, users=users, projects=projects)


@router.post("/admin/users")
def admin_add_user(request: Request, username: str = Form(...), password: str = Form(...),
                   is_admin: bool = Form(False), user: User = Depends(current_user),
                   session: Session = Depends(get_db)) -> Response:
    _site_admin(user)
    new = create_user(session, username, password, is_admin=is_admin)
    session.commit()
    flash(request, f"Created user {new.username}.")
    return back("/admin")


@router.post("/admin/projects")
def admin_add_project(request: Request, config: str = Form(...), slug: str = Form(""),
                      user: User = Depends(current_user),
                      session: Session = Depends(get_db)) -> Response:
    _site_admin(user)
    cfg = parse_config(config, "the config text")
    project = create_project(session, cfg, slug.strip() or None)
    access.add_member(session, project, user, "admin")
    session.commit()
    flash(request, f"Created project {project.slug}.")
    return back(f"/p/{project.slug}")


# -- media ----------------------------------------------------------------------------------------

def _private(response: Response) -> Response:
    response.headers["cache-control"] = "private, max-age=3600"
    return response


@router.get("/media/{media_id}")
def media_file(request: Request, media_id: int, user: User = Depends(current_user),
               session: Session = Depends(get_db)) -> Response:
    media = access.media_for(session, user, media_id)
    root = request.app.state.settings.media_root
    path = resolve(root, media.path)
    if media.kind == "frames":
        frames = confined_frames(root, path) if path.is_dir() else []
        if not frames:
            raise NotFound("the frames of this video are missing from the media folder")
        path = frames[0]
    elif not path.is_file():
        raise NotFound(f"{media.name}: the file is missing from the media folder")
    return _private(FileResponse(path, media_type=media.mime))


@router.get("/media/{media_id}/frame/{index}")
def media_frame(request: Request, media_id: int, index: int,
                user: User = Depends(current_user), session: Session = Depends(get_db)):
    media = access.media_for(session, user, media_id)
    if media.kind != "frames":
        raise NotFound("this medium is not a frame folder")
    root = request.app.state.settings.media_root
    folder = resolve(root, media.path)
    frames = confined_frames(root, folder) if folder.is_dir() else []
    if not 0 <= index < len(frames):
        raise NotFound(f"no frame {index} (the video has {len(frames)})")
    return _private(FileResponse(frames[index]))
