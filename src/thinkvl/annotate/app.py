"""The web application (FastAPI): settings, start-up (migrations, draft worker), sessions,
CSRF, security headers, request size limits, and errors shown as readable messages, never as
tracebacks. Routers live in ``api``/``pages`` and share ``deps`` with this module; they never
import it (no import cycle)."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from thinkvl.annotate import api, pages
from thinkvl.annotate.auth import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, csrf_token, verify_csrf
from thinkvl.annotate.db import make_engine, session_factory
from thinkvl.annotate.deps import SESSION_KEY, wants_json
from thinkvl.annotate.drafts import Drafter, DraftWorker, ModelDrafter
from thinkvl.annotate.errors import AnnotateError, Forbidden, NotLoggedIn
from thinkvl.annotate.migrate import ensure_secret, upgrade
from thinkvl.annotate.sessions import LoginThrottle

log = logging.getLogger("thinkvl.annotate")
HERE = Path(__file__).parent
SESSION_COOKIE = "thinkvl_annotate"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
       "base-uri 'none'; object-src 'none'")


@dataclass
class Settings:
    db: str | None
    media_root: Path
    model: Path | None = None
    drafter: Drafter | None = None  # overrides ``model`` (tests, other backends)
    secure_cookies: bool = False  # set behind HTTPS
    max_request_mb: float = 2048.0  # server-wide cap on any request body
    max_anonymous_kb: float = 64.0  # without a login session: a login form, nothing more


def create_app(settings: Settings) -> FastAPI:
    """Migrate the database, then build the application (the draft worker starts with it)."""
    settings.media_root = Path(settings.media_root).resolve()
    settings.media_root.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db)
    upgrade(engine)
    secret = ensure_secret(engine)
    factory = session_factory(engine)
    drafter = settings.drafter
    if drafter is None and settings.model is not None:
        drafter = ModelDrafter(settings.model)
    worker = DraftWorker(factory, drafter, settings.media_root) if drafter is not None else None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if worker is not None:
            worker.start()
            n = worker.recover()
            if n:
                log.info("queued %d task(s) for model drafts", n)
        yield
        if worker is not None:
            worker.stop()
        engine.dispose()

    app = FastAPI(title="thinkvl annotate", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan, dependencies=[Depends(csrf_guard)])
    app.state.settings = settings
    app.state.engine = engine
    app.state.factory = factory
    app.state.worker = worker
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.templates.env.globals["csrf_field"] = CSRF_FIELD
    app.state.throttle = LoginThrottle()

    app.include_router(pages.router)
    app.include_router(api.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    _errors(app)
    # innermost first: the body limit reads the decoded session to tell anonymous requests apart
    app.add_middleware(_BodyLimit, max_bytes=int(settings.max_request_mb * 1e6),
                       anonymous_bytes=int(settings.max_anonymous_kb * 1e3))
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie=SESSION_COOKIE,
                       same_site="lax", https_only=settings.secure_cookies,
                       max_age=14 * 24 * 3600)
    app.add_middleware(_Headers)
    return app


# -- CSRF -----------------------------------------------------------------------------------------

async def csrf_guard(request: Request) -> None:
    """Every state-changing request carries this session's CSRF token.

    A multipart body (an upload) is only parsed for a logged-in session: parsing spools the
    whole body to disk, and an anonymous 300 MB POST to /login was written out before its 403
    (issue 20, finding 5). Anonymous bodies are also capped at ``max_anonymous_kb``."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data") and not request.session.get(SESSION_KEY):
            raise Forbidden("log in first: uploads need a logged-in session")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form(max_files=1000, max_fields=1000)
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    verify_csrf(request.session, sent)


# -- errors ---------------------------------------------------------------------------------------

def _errors(app: FastAPI) -> None:
    def page(request: Request, status: int, title: str, message: str) -> Response:
        templates = request.app.state.templates
        return templates.TemplateResponse(
            request, "error.html",
            {"title": title, "message": message, "user": None,
             "csrf": csrf_token(request.session), "flashes": []},
            status_code=status)

    @app.exception_handler(AnnotateError)
    async def annotate_error(request: Request, exc: AnnotateError) -> Response:
        if isinstance(exc, NotLoggedIn) and not wants_json(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        if wants_json(request):
            return JSONResponse(exc.payload(), status_code=exc.status)
        titles = {403: "Not allowed", 404: "Not found", 409: "Conflict", 413: "Too large",
                  415: "Wrong file type"}
        return page(request, exc.status, titles.get(exc.status, "Cannot do that"), exc.message)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
        message = "the request is malformed: " + "; ".join(parts)
        if wants_json(request):
            return JSONResponse({"error": "BadRequest", "message": message}, status_code=422)
        return page(request, 422, "Cannot do that", message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "there is no such page", 405: "that action is not possible here"}.get(
            exc.status_code, str(exc.detail))
        if wants_json(request):
            return JSONResponse({"error": "HTTPError", "message": message},
                                status_code=exc.status_code)
        return page(request, exc.status_code, "Not found" if exc.status_code == 404 else
                    "Cannot do that", message)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        message = ("something went wrong on the server (the details are in its log); what was "
                   "saved before is safe — try again or reload the page")
        if wants_json(request):
            return JSONResponse({"error": "ServerError", "message": message}, status_code=500)
        return HTMLResponse(f"<!doctype html><title>Server error</title><p>{message}</p>",
                            status_code=500)


# -- ASGI middleware ------------------------------------------------------------------------------

class _Headers:
    """Security headers on every response."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()),
                            (b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"same-origin")]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyLimit:
    """Refuse request bodies over the limit before anything reads them: the server-wide limit
    for a logged-in session, a small one (a login form) for everyone else."""

    def __init__(self, app, max_bytes: int, anonymous_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.anonymous_bytes = anonymous_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = scope.get("session") or {}
        limit = self.max_bytes if session.get(SESSION_KEY) else self.anonymous_bytes
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(send)
            return
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooBig
            return message

        try:
            await self.app(scope, counted, send)
        except _TooBig:
            await self._refuse(send)

    async def _refuse(self, send) -> None:
        body = (b'{"error": "TooLarge", "message": "the request is larger than this server '
                b'accepts (uploads: its --max-upload-mb, and only once logged in)"}')
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooBig(Exception):
    pass
