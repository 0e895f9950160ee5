"""The math-verify worker process: parse + verify pairs sent over a pipe, one reply per pair.

Runs in its own process so the parent can kill it: sympy and big-integer arithmetic can spend
minutes inside C code where no signal or thread can stop them. A soft interval timer inside
the worker ends most slow items without a restart; the parent's hard deadline is the backstop.
Started as ``python -m thinkvl.rewards.verifiers.mathworker FD SOFT_TIMEOUT MEMORY_MB`` on a
socketpair (a plain subprocess never re-imports the caller's ``__main__``).
"""

from __future__ import annotations

import logging
import os
import signal
from collections import OrderedDict
from typing import Any

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

_CONFIGS = [LatexExtractionConfig(), ExprExtractionConfig()]
_GOLD_CACHE_SIZE = 4096


class SoftTimeout(BaseException):
    """Raised by the interval timer; a BaseException so sympy's ``except Exception`` keeps out."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise SoftTimeout


def as_latex(text: str) -> str:
    """Wrap a box's content in math delimiters unless it already has some."""
    if "$" in text or "\\boxed" in text or "\\(" in text or "\\[" in text:
        return text
    return f"${text}$"


class _Verifier:
    def __init__(self, soft_timeout_s: float) -> None:
        self.soft = soft_timeout_s
        self.gold: OrderedDict[str, Any] = OrderedDict()

    def _gold(self, text: str) -> Any:
        hit = self.gold.get(text)
        if hit is not None:
            self.gold.move_to_end(text)
            return hit
        parsed = parse(as_latex(text), _CONFIGS, parsing_timeout=None)
        self.gold[text] = parsed
        if len(self.gold) > _GOLD_CACHE_SIZE:
            self.gold.popitem(last=False)
        return parsed

    def one(self, gold: str, pred: str) -> tuple[str, bool | None, str]:
        """(status, equal, detail): status is ok, unparsed, timeout or error."""
        signal.setitimer(signal.ITIMER_REAL, self.soft)
        try:
            g = self._gold(gold)
            if not g:
                return "unparsed", None, "reference not parsable by math-verify"
            p = parse(as_latex(pred), _CONFIGS, parsing_timeout=None)
            if not p:
                return "unparsed", None, "answer not parsable by math-verify"
            return "ok", bool(verify(g, p, timeout_seconds=None)), ""
        except SoftTimeout:
            return "timeout", None, f"math-verify took longer than {self.soft:.2f}s"
        except MemoryError:
            return "error", None, "math-verify ran out of memory"
        except Exception as exc:  # noqa: BLE001 - any library failure is a verdict, not a crash
            return "error", None, f"math-verify failed: {type(exc).__name__}"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)


def serve(conn: Any, soft_timeout_s: float, memory_mb: int) -> None:
    """Worker main loop: ``[(idx, gold, pred), …]`` in, ``(idx, status, equal, detail)`` out."""
    logging.disable(logging.CRITICAL)  # math-verify logs every timeout and parse failure
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGALRM, _on_alarm)
    _limit_memory(memory_mb)
    worker = _Verifier(soft_timeout_s)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if batch is None:
            return
        for idx, gold, pred in batch:
            status, equal, detail = worker.one(gold, pred)
            conn.send((idx, status, equal, detail))


def _limit_memory(memory_mb: int) -> None:
    try:
        import resource

        limit = memory_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass


def main(argv: list[str]) -> None:
    from multiprocessing.connection import Connection

    fd, soft, memory_mb = int(argv[0]), float(argv[1]), int(argv[2])
    serve(Connection(fd), soft, memory_mb)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
