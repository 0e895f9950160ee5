"""Errors people see: each carries an HTTP status and a message that says what to do.

The web layer turns them into a JSON body or an error page, the CLI into one red line; neither
shows a traceback.
"""

from __future__ import annotations

from typing import Any


class AnnotateError(Exception):
    """A problem with the request or the input, explained for a person."""

    status = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def payload(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": self.message, **self.extra}


class ConfigError(AnnotateError):
    """A project config file that cannot be used."""


class DatabaseError(AnnotateError):
    """A database URL that is malformed, or a database that cannot be reached."""

    status = 503


class NotLoggedIn(AnnotateError):
    status = 401


class Forbidden(AnnotateError):
    status = 403


class NotFound(AnnotateError):
    status = 404


class Conflict(AnnotateError):
    """The task changed since the client loaded it (optimistic locking), or its state forbids
    the action (e.g. saving a submitted task)."""

    status = 409


class BadValue(AnnotateError):
    """A field value that does not fit its field (unknown label, malformed segment, …)."""

    status = 422


class MediaRejected(AnnotateError):
    """An upload of the wrong type, or an unreadable file."""

    status = 415


class TooLarge(AnnotateError):
    status = 413
