"""Accounts: argon2 password hashes (argon2-cffi), logins, and the per-session CSRF token.

The session cookie is signed (Starlette's SessionMiddleware, itsdangerous); it holds a session
token that must name a live row of ``login_sessions`` (see ``sessions``) and a random CSRF
token. Every state-changing request must echo that token, as the form
field ``csrf_token`` or the ``X-CSRF-Token`` header, or it is refused.
"""

from __future__ import annotations

import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from thinkvl.annotate.errors import AnnotateError, Forbidden
from thinkvl.annotate.models import User
from thinkvl.annotate.sessions import revoke_all

_hasher = PasswordHasher()
_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")
MIN_PASSWORD = 8
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# verified against when the user does not exist, so a login takes as long either way
_DUMMY_HASH = _hasher.hash(secrets.token_hex(8))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_username(name: str) -> str:
    name = name.strip()
    if not _USERNAME_RE.match(name):
        raise AnnotateError(f"user name {name!r} is not allowed: 2–64 letters, digits, '.', '_' "
                            "or '-', starting with a letter or digit")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AnnotateError(f"the password is too short: at least {MIN_PASSWORD} characters")
    return password


def create_user(session: Session, username: str, password: str, *, is_admin: bool = False) -> User:
    username = check_username(username)
    if session.scalar(select(User).where(func.lower(User.username) == username.lower())):
        raise AnnotateError(f"user {username!r} exists already")
    user = User(username=username, password_hash=hash_password(check_password(password)),
                is_admin=is_admin, active=True)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """A new password ends every open session of the user."""
    user.password_hash = hash_password(check_password(password))
    revoke_all(session, user.id)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (same work either way)."""
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    target = user.password_hash if user is not None else _DUMMY_HASH
    try:
        _hasher.verify(target, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def csrf_token(session_data: dict) -> str:
    """This session's CSRF token, created on first use."""
    token = session_data.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session_data["csrf"] = token
    return token


def verify_csrf(session_data: dict, sent: str | None) -> None:
    expected = session_data.get("csrf")
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected, sent):
        raise Forbidden("the form's security token (CSRF) is missing or out of date; reload the "
                        "page and try again")
