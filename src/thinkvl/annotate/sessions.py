"""Server-side login sessions and login throttling.

Why server-side: the signed cookie alone (Starlette's SessionMiddleware) cannot be taken back,
so a cookie copied before logout kept working for its 14 days. The cookie now carries a random
token whose SHA-256 names a ``login_sessions`` row; logout deletes the row, and a deactivated
user's rows go with a password change or ``revoke_all``.

Why throttling: nothing limited password guessing. :class:`LoginThrottle` counts failed logins
per account and per client address in a sliding window and refuses further attempts (before
any password is checked) until the window has passed. It lives in the server process: a
restart clears it, which an attacker cannot trigger.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict, deque
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from thinkvl.annotate.errors import AnnotateError
from thinkvl.annotate.models import LoginSession, User, utcnow

SESSION_DAYS = 14


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def open_session(db: Session, user: User) -> str:
    """A new session for ``user``; returns the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(LoginSession(id=_digest(token), user_id=user.id, created_at=now,
                        expires_at=now + timedelta(days=SESSION_DAYS)))
    db.execute(delete(LoginSession).where(LoginSession.expires_at < now))  # tidy as we go
    return token


def user_for(db: Session, token: object) -> User | None:
    """The active user of a live session token, else None."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    row = db.get(LoginSession, _digest(token))
    if row is None or row.expires_at < utcnow():
        return None
    user = db.get(User, row.user_id)
    return user if user is not None and user.active else None


def close_session(db: Session, token: object) -> None:
    if isinstance(token, str) and token:
        db.execute(delete(LoginSession).where(LoginSession.id == _digest(token)))


def revoke_all(db: Session, user_id: int) -> int:
    """End every session of a user (deactivation, password change); returns how many."""
    ids = list(db.scalars(select(LoginSession.id).where(LoginSession.user_id == user_id)))
    db.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    return len(ids)


class TooManyLogins(AnnotateError):
    status = 429


class LoginThrottle:
    """At most ``per_account`` failed logins per user name and ``per_client`` per address in
    ``window_s``; past that, logins are refused until the oldest failure leaves the window."""

    def __init__(self, per_account: int = 5, per_client: int = 20, window_s: float = 900.0,
                 max_keys: int = 10_000) -> None:
        self.per_account, self.per_client, self.window_s = per_account, per_client, window_s
        self.max_keys = max_keys
        self._fails: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._fails.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def check(self, username: str, client: str) -> None:
        """Raise :class:`TooManyLogins` when this account or address is locked out."""
        now = time.monotonic()
        with self._lock:
            for key, limit in ((f"u:{username.strip().lower()}", self.per_account),
                               (f"c:{client}", self.per_client)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = max(1, round((times[0] + self.window_s - now) / 60))
                    what = "this account" if key.startswith("u:") else "this address"
                    raise TooManyLogins(f"too many failed logins for {what}; try again in about "
                                        f"{wait} minute(s)")

    def failed(self, username: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"u:{username.strip().lower()}", f"c:{client}"):
                times = self._recent(key, now)
                times.append(now)
                self._fails[key] = times
                self._fails.move_to_end(key)
            while len(self._fails) > self.max_keys:  # bounded memory under a spray of names
                self._fails.popitem(last=False)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._fails.pop(f"u:{username.strip().lower()}", None)
