"""What the routers share with the application: the database session, the logged-in user and
content negotiation. Its own module so that ``app`` imports ``api`` and ``pages`` and neither
imports ``app`` back (they did, for these three functions: an import cycle)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from thinkvl.annotate.errors import NotLoggedIn
from thinkvl.annotate.models import User
from thinkvl.annotate.sessions import user_for

SESSION_KEY = "sid"  # the cookie's session token (see annotate.sessions)


def get_db(request: Request) -> Iterator[Session]:
    session = request.app.state.factory()
    try:
        yield session
    finally:
        session.close()


def current_user(request: Request, session: Session = Depends(get_db)) -> User:
    user = user_for(session, request.session.get(SESSION_KEY))
    if user is None:
        raise NotLoggedIn("please log in")
    return user


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or \
        "application/json" in request.headers.get("accept", "")
