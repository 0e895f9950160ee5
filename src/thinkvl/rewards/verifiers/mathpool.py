"""A pool of killable math-verify worker processes with a hard per-item deadline.

Threads cannot interrupt sympy (nor can signals while C code runs), so each pair is checked in
a worker process; when an item overruns its deadline the worker is killed and replaced, the
item is reported as a timeout and the rest of the batch goes on. Workers stream one reply per
item, so the parent always knows which item is running.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

_STARTUP_TIMEOUT_S = 120.0


@dataclass(slots=True, frozen=True)
class MathVerdict:
    """status: ok (``equal`` is meaningful), unparsed, timeout or error."""

    status: str
    equal: bool | None
    detail: str = ""


def _child_env() -> dict[str, str]:
    """The parent's environment, with thinkvl's source root importable by the child."""
    import thinkvl

    env = dict(os.environ)
    root = str(Path(thinkvl.__file__).resolve().parent.parent)
    paths = [root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


class _Process:
    """A started (maybe not yet ready) worker: ``python -m …mathworker`` on a socketpair.

    A plain subprocess, not multiprocessing: it never re-imports the caller's ``__main__``.
    """

    def __init__(self, soft_s: float, memory_mb: int) -> None:
        mine, theirs = socket.socketpair()
        fd = theirs.fileno()
        self.popen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "thinkvl.rewards.verifiers.mathworker",
                str(fd),
                repr(soft_s),
                str(memory_mb),
            ],
            pass_fds=(fd,),
            env=_child_env(),
            stdin=subprocess.DEVNULL,
            close_fds=True,
        )
        theirs.close()
        self.conn = Connection(mine.detach())
        self.ready = False

    def wait_ready(self) -> None:
        if self.ready:
            return
        if not self.conn.poll(_STARTUP_TIMEOUT_S):
            self.kill()
            raise RuntimeError(f"math-verify worker did not start within {_STARTUP_TIMEOUT_S:.0f}s")
        try:
            self.conn.recv()
        except (EOFError, OSError):
            raise RuntimeError(
                "math-verify worker exited at start; run "
                "`python -m thinkvl.rewards.verifiers.mathworker` to see why"
            ) from None
        self.ready = True

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
            self.popen.wait(1)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        self.kill()


class _Worker:
    """The active process plus, once one has been killed, a warm spare for the next kill.

    The spare is only started after the first kill, so pools that never meet a pathological
    item never pay for it.
    """

    def __init__(self, soft_s: float, memory_mb: int, spare: bool) -> None:
        self.soft_s, self.memory_mb, self.use_spare = soft_s, memory_mb, spare
        self.pending: deque[int] = deque()
        self.deadline = 0.0
        self.active = _Process(soft_s, memory_mb)
        self.spare: _Process | None = None
        self.active.wait_ready()

    @property
    def conn(self) -> Connection:
        return self.active.conn

    def restart(self) -> None:
        """Replace the active process without waiting for it: the killed item's verdict goes
        back at its deadline, and whoever sends next waits for the replacement (not counted
        against any item's limit). Waiting here made a timeout cost ~3 s at a 2 s limit, and
        ~10 s when the replacement started cold (issue 20, finding 11)."""
        self.active.kill()
        self.pending = deque()
        if self.spare is not None:
            self.active, self.spare = self.spare, None
        else:
            self.active = _Process(self.soft_s, self.memory_mb)
        if self.use_spare:
            self.spare = _Process(self.soft_s, self.memory_mb)  # warms up while we work

    def stop(self) -> None:
        self.active.stop()
        if self.spare is not None:
            self.spare.stop()


class MathPool:
    """``verify_many([(gold, pred), …])`` → one :class:`MathVerdict` per pair, each within
    ``timeout_s`` of wall time."""

    def __init__(
        self,
        workers: int = 1,
        timeout_s: float = 2.0,
        memory_mb: int = 2048,
        spare: bool = True,
        soft: bool = True,
    ) -> None:
        self.n = max(1, workers)
        self.spare = spare
        self.timeout_s = timeout_s
        # soft=False turns the in-worker timer off (tests use it to prove the hard kill works)
        self.soft_s = max(0.05, 0.75 * timeout_s) if soft else 0.0
        self.memory_mb = memory_mb
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self.restarts = 0
        self.items = 0
        self._finalizer = weakref.finalize(self, MathPool._shutdown, self._workers)

    # ------------------------------------------------------------------ lifecycle
    def _ensure(self) -> None:
        if self._pid != os.getpid():  # forked trainer process: never reuse the parent's pipes
            self._workers.clear()
            self._pid = os.getpid()
        while len(self._workers) < self.n:
            self._workers.append(self._spawn())

    def _spawn(self) -> _Worker:
        return _Worker(self.soft_s, self.memory_mb, self.spare)

    @staticmethod
    def _shutdown(workers: list[_Worker]) -> None:
        for w in workers:
            w.stop()
        workers.clear()

    def close(self) -> None:
        with self._lock:
            MathPool._shutdown(self._workers)

    def pids(self) -> list[int]:
        """Process ids of the active workers (for CPU accounting in benchmarks)."""
        return [w.active.popen.pid for w in self._workers]

    # ------------------------------------------------------------------ work
    def verify_many(self, pairs: list[tuple[str, str]]) -> list[MathVerdict]:
        if not pairs:
            return []
        with self._lock:
            self._ensure()
            return self._run(pairs)

    def _run(self, pairs: list[tuple[str, str]]) -> list[MathVerdict]:
        results: list[MathVerdict | None] = [None] * len(pairs)
        chunk = -(-len(pairs) // self.n)
        active = []
        for k, w in enumerate(self._workers):
            ids = list(range(k * chunk, min(len(pairs), (k + 1) * chunk)))
            if ids and self._send(w, ids, pairs, results):
                active.append(w)
        while active:
            now = time.monotonic()
            ready = wait(
                [w.conn for w in active], timeout=max(0.0, min(w.deadline for w in active) - now)
            )
            for w in list(active):
                if w.conn in ready:
                    self._receive(w, pairs, results)
                elif time.monotonic() >= w.deadline:
                    self._replace(
                        w,
                        results,
                        MathVerdict(
                            "timeout", None, f"over the {self.timeout_s:g}s limit; worker killed"
                        ),
                        pairs,
                    )
                if not w.pending:
                    active.remove(w)
        self.items += len(pairs)
        return [r if r is not None else MathVerdict("error", None, "no reply") for r in results]

    def _send(
        self,
        w: _Worker,
        ids: list[int],
        pairs: list[tuple[str, str]],
        results: list[MathVerdict | None],
    ) -> bool:
        """Send ``ids`` to ``w`` once it is ready (the wait is no item's time); False when the
        worker could not start, with the items answered as errors."""
        try:
            w.active.wait_ready()
            w.pending = deque(ids)
            w.conn.send([(i, pairs[i][0], pairs[i][1]) for i in ids])
        except (RuntimeError, OSError) as exc:
            for i in ids:
                results[i] = MathVerdict("error", None, f"math-verify worker unavailable: {exc}")
            w.pending = deque()
            return False
        w.deadline = time.monotonic() + self.timeout_s
        return True

    def _receive(
        self, w: _Worker, pairs: list[tuple[str, str]], results: list[MathVerdict | None]
    ) -> None:
        try:
            while w.pending and w.conn.poll():
                idx, status, equal, detail = w.conn.recv()
                if w.pending and w.pending[0] == idx:
                    w.pending.popleft()
                results[idx] = MathVerdict(status, equal, detail)
                w.deadline = time.monotonic() + self.timeout_s
        except (EOFError, OSError):
            self._replace(w, results, MathVerdict("error", None, "math-verify worker died"), pairs)

    def _replace(
        self,
        w: _Worker,
        results: list[MathVerdict | None],
        verdict: MathVerdict,
        pairs: list[tuple[str, str]],
    ) -> None:
        """Kill ``w`` (its current item gets ``verdict``), start a fresh one, resend the rest."""
        if w.pending:
            results[w.pending.popleft()] = verdict
        rest = list(w.pending)
        w.restart()
        self.restarts += 1
        if rest:
            self._send(w, rest, pairs, results)
