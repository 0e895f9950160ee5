"""A hard wall-clock limit per scored item, for every verifier (not only math).

Why signals: a verifier is ordinary Python and regexes, and a thread cannot be stopped from
outside. ``SIGALRM`` interrupts both (CPython's regex engine checks for signals while it
matches), so on the main thread an item that overruns is stopped at its limit. Elsewhere (a
trainer scoring from a worker thread) signals cannot be used: the item's time is measured
instead and an item over the limit is still scored 0 with the ``timeout`` flag — it cannot earn
reward by being slow, and every reader of model output is linear-time or bounded by length,
so this path is not expected to run long.

A caller's own timer (pytest-timeout, a job watchdog) is paused for the batch and re-armed with
what was left of it afterwards.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class ItemTimeout(BaseException):
    """Raised inside an item that ran past its limit (a BaseException so that a verifier's
    ``except Exception`` cannot swallow it)."""


class Deadline:
    """``with Deadline(s) as d: … with d.item(): score one item …``; ``hard`` tells whether
    overruns are interrupted (main thread, POSIX) or only measured."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.hard = False
        self._armed = False
        self._prev_handler = None
        self._prev_timer = (0.0, 0.0)
        self._t0 = 0.0

    def __enter__(self) -> Deadline:
        self.hard = (
            self.seconds > 0
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )
        if self.hard:
            try:
                self._prev_handler = signal.signal(signal.SIGALRM, self._fire)
            except ValueError:  # not the main interpreter
                self.hard = False
                return self
            self._prev_timer = signal.setitimer(signal.ITIMER_REAL, 0)
            self._t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.hard:
            return
        self._armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._prev_handler)
        delay, interval = self._prev_timer
        if delay > 0:
            left = delay - (time.monotonic() - self._t0)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), interval)

    @contextmanager
    def item(self) -> Iterator[None]:
        """Run one item under the limit; raises :class:`ItemTimeout` when it overruns."""
        if not self.hard:
            yield
            return
        self._armed = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        try:
            yield
        finally:
            self._armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _fire(self, signum: int, frame: object) -> None:
        if self._armed:  # a late signal after the item finished is ignored
            self._armed = False
            raise ItemTimeout
