"""`thinkvl annotate …`: the human-in-the-loop annotation workflow (a model drafts, people
correct, a second person reviews, accepted work exports as data records)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(help="Annotate videos and images: a model drafts, people correct and review.",
                  no_args_is_help=True)
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
project_app = typer.Typer(help="Projects (a label config plus media).", no_args_is_help=True)
member_app = typer.Typer(help="Who works on which project, in which role.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(project_app, name="project")
app.add_typer(member_app, name="member")
console = Console()
err = Console(stderr=True)

DB_HELP = ("Database: an SQLite file (annotate.db, sqlite:///path.db) or "
           "postgresql://USER:PASSWORD@HOST:PORT/DB (default: $THINKVL_ANNOTATE_DB or annotate.db).")


def _db_option() -> Any:
    return typer.Option(None, "--db", help=DB_HELP, envvar="THINKVL_ANNOTATE_DB")


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def friendly(fn: Callable) -> Callable:
    """Show AnnotateError (bad config, URL, input) as one readable line, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from thinkvl.annotate.errors import AnnotateError

        try:
            return fn(*args, **kwargs)
        except AnnotateError as exc:
            _fail(exc.message)
        except FileNotFoundError as exc:
            _fail(str(exc))

    return wrapper


def _engine(db: str | None):
    from thinkvl.annotate.db import make_engine
    from thinkvl.annotate.migrate import upgrade

    engine = make_engine(db)
    upgrade(engine)
    return engine


def _session(db: str | None):
    from thinkvl.annotate.db import session_factory, session_scope

    return session_scope(session_factory(_engine(db)))


@app.command("serve")
@friendly
def serve(
    db: str | None = _db_option(),
    media: Path = typer.Option(..., "--media", help="Media folder: imported media live under "
                               "it, uploads are stored in it."),
    model: Path | None = typer.Option(None, "--model", help="A thinkvl-loadable VLM folder "
                                      "that drafts every new task (none: no drafts)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    max_upload_mb: float = typer.Option(2048.0, "--max-upload-mb", min=0.001,
                                        help="Server-wide cap on one request body."),
    secure_cookies: bool = typer.Option(False, "--secure-cookies",
                                        help="Send the session cookie over HTTPS only."),
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    """Run the annotation web application (migrates the database first)."""
    from sqlalchemy import func, select

    from thinkvl.annotate.app import Settings, create_app
    from thinkvl.annotate.db import safe_url
    from thinkvl.annotate.models import User
    from thinkvl.annotate.server import run

    settings = Settings(db=db, media_root=media, model=model, secure_cookies=secure_cookies,
                        max_request_mb=max_upload_mb)
    web = create_app(settings)
    with web.state.factory() as session:
        users = session.scalar(select(func.count()).select_from(User))
    console.print(f"database {escape(safe_url(web.state.engine.url))} · media "
                  f"{escape(str(settings.media_root))} · drafts by "
                  f"{escape(str(model)) if model else 'no model'}")
    if not users:
        console.print("[yellow]no accounts yet:[/] create a site admin with "
                      "`thinkvl annotate user add NAME --admin --db …`")
    console.print(f"[green]serving[/] http://{host}:{port}")
    sys.stdout.flush()
    run(web, host, port, log_level)


@app.command("migrate")
@friendly
def migrate(db: str | None = _db_option()) -> None:
    """Bring the database schema up to date (serve does this on start too)."""
    from thinkvl.annotate.db import make_engine, safe_url
    from thinkvl.annotate.migrate import upgrade

    engine = make_engine(db)
    before, after = upgrade(engine)
    where = escape(safe_url(engine.url))
    if before == after:
        console.print(f"{where}: schema up to date (revision {after})")
    else:
        console.print(f"{where}: migrated {before or 'empty'} → {after}")


@user_app.command("add")
@friendly
def user_add(
    name: str = typer.Argument(..., help="User name."),
    admin: bool = typer.Option(False, "--admin", help="A site admin (every project, accounts)."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from standard input."),
    db: str | None = _db_option(),
) -> None:
    """Create an account (the password is asked for, or read from stdin)."""
    from thinkvl.annotate.auth import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _session(db) as session:
        user = create_user(session, name, password, is_admin=admin)
        console.print(f"[green]created[/] {escape(user.username)}"
                      + (" (site admin)" if admin else ""))


@project_app.command("create")
@friendly
def project_create(
    config: Path = typer.Option(..., "--config", help="The label config (YAML), e.g. "
                                "configs/annotate_project.yaml."),
    slug: str | None = typer.Option(None, "--slug", help="Project id in URLs (default: from "
                                    "the name)."),
    db: str | None = _db_option(),
) -> None:
    """Create a project from a label config."""
    from thinkvl.annotate.config import load_config
    from thinkvl.annotate.projects import create_project

    cfg = load_config(config)
    with _session(db) as session:
        project = create_project(session, cfg, slug)
        console.print(f"[green]created[/] project {escape(project.slug)} "
                      f"({len(cfg.fields)} fields)")


@project_app.command("list")
@friendly
def project_list(db: str | None = _db_option()) -> None:
    """Projects and their progress."""
    from sqlalchemy import select

    from thinkvl.annotate.models import Project
    from thinkvl.annotate.workflow import count_by_status

    table = Table(title="projects", title_justify="left")
    for col in ("project", "name", "tasks", "open", "in progress", "submitted", "accepted"):
        table.add_column(col)
    with _session(db) as session:
        for p in session.scalars(select(Project).order_by(Project.slug)):
            c = count_by_status(session, p.id)
            table.add_row(escape(p.slug), escape(p.name), str(c["total"]), str(c["open"]),
                          str(c["in_progress"]), str(c["submitted"]), str(c["accepted"]))
    console.print(table)


@member_app.command("add")
@friendly
def member_add(
    project: str = typer.Argument(..., help="Project id."),
    user: str = typer.Argument(..., help="User name."),
    role: str = typer.Option("annotator", "--role", help="annotator, reviewer or admin."),
    db: str | None = _db_option(),
) -> None:
    """Give a user a role in a project (or change it)."""
    from sqlalchemy import select

    from thinkvl.annotate.access import add_member
    from thinkvl.annotate.errors import NotFound
    from thinkvl.annotate.models import Project, User

    with _session(db) as session:
        p = session.scalar(select(Project).where(Project.slug == project))
        u = session.scalar(select(User).where(User.username == user))
        if p is None:
            raise NotFound(f"no project {project!r} (see `thinkvl annotate project list`)")
        if u is None:
            raise NotFound(f"no user {user!r} (create it with `thinkvl annotate user add`)")
        add_member(session, p, u, role)
        console.print(f"{escape(u.username)} is {role} of {escape(p.slug)}")


@app.command("import")
@friendly
def import_cmd(
    project: str = typer.Argument(..., help="Project id."),
    paths: list[Path] = typer.Argument(..., help="Files or folders under the media folder: "
                                       "videos, images, frame folders, or folders of them."),
    media: Path = typer.Option(..., "--media", help="The media folder the server uses."),
    db: str | None = _db_option(),
) -> None:
    """Add media already in the media folder as tasks (one per video, frame folder or image)."""
    from sqlalchemy import select

    from thinkvl.annotate.errors import NotFound
    from thinkvl.annotate.models import Project
    from thinkvl.annotate.projects import import_media

    with _session(db) as session:
        p = session.scalar(select(Project).where(Project.slug == project))
        if p is None:
            raise NotFound(f"no project {project!r} (see `thinkvl annotate project list`)")
        result = import_media(session, p, media, paths)
        console.print(f"[green]added[/] {len(result.added)} task(s) to {escape(p.slug)}")
        for line in result.skipped:
            console.print(f"[yellow]skipped[/] {escape(line)}")


@app.command("export")
@friendly
def export_cmd(
    project: str = typer.Argument(..., help="Project id."),
    out: Path = typer.Option(..., "--out", help="Folder to write the records and media into."),
    media: Path = typer.Option(..., "--media", help="The media folder the server uses."),
    include_submitted: bool = typer.Option(False, "--include-submitted",
                                           help="Also export submitted, not yet reviewed tasks."),
    db: str | None = _db_option(),
) -> None:
    """Write accepted annotations as thinkvl data records (check them with `thinkvl data check`)."""
    from sqlalchemy import select

    from thinkvl.annotate.errors import NotFound
    from thinkvl.annotate.export import export_project
    from thinkvl.annotate.models import Project

    statuses = ("accepted", "submitted") if include_submitted else ("accepted",)
    with _session(db) as session:
        p = session.scalar(select(Project).where(Project.slug == project))
        if p is None:
            raise NotFound(f"no project {project!r} (see `thinkvl annotate project list`)")
        summary = export_project(session, p, media, out, statuses)
    console.print(f"[green]exported[/] {summary.tasks} task(s) to {escape(str(out))}: "
                  + ", ".join(f"{k} {v}" for k, v in summary.records.items()))
    for line in summary.skipped:
        console.print(f"[yellow]skipped[/] {escape(line)}")


@app.command("demo")
@friendly
def demo_cmd(
    media: Path = typer.Option(..., "--media", help="Media folder for the synthetic media."),
    videos: int = typer.Option(4, "--videos", min=0),
    images: int = typer.Option(1, "--images", min=0),
    db: str | None = _db_option(),
) -> None:
    """Create a demo project: synthetic videos and an image, three demo accounts."""
    from thinkvl.annotate.demo import seed

    d = seed(db, media, videos=videos, images=images)
    console.print(f"[green]project[/] {d.project}: {len(d.tasks)} new task(s)")
    for name, pw in d.users.items():
        console.print(f"  log in as {name} / {pw}")
    console.print("then: thinkvl annotate serve --db … --media … [--model MODEL_DIR]")


@app.command("screenshot")
@friendly
def screenshot_cmd(
    out: Path = typer.Option(Path("annotate-screens"), "--out", help="Folder for the PNGs."),
    model: Path | None = typer.Option(None, "--model", help="Drafting model (default: a "
                                      "freshly built tiny one, which drafts gibberish)."),
    width: int = typer.Option(1440, "--width", min=600),
) -> None:
    """Screenshots of the pages (log-in, annotation, review, dashboard) on a demo project."""
    from thinkvl.annotate.screenshot import take_screenshots

    try:
        shots = take_screenshots(out, model=model, width=width, log=console.print)
    except RuntimeError as exc:
        _fail(str(exc), 1)
    for path in shots:
        console.print(f"screenshot: {escape(str(path))}")
