"""Encode the next step's rows while the current step trains.

Encoding (chat template, image processor, M-RoPE positions) is Python work: about a fifth of a
CPU step of the tiny model. One background thread overlaps it with the forward and backward,
whose kernels release the GIL. Checkpoints save the data position after the last *consumed*
step (a snapshot the thread takes right after producing that step), never the position of the
step being prepared, so ``--resume`` stays exact.
"""

from __future__ import annotations

import threading
from typing import Any

from thinkvl.data.packing import Pack


class _Job:
    """One call run on a daemon thread (a crash or exit never waits on it)."""

    def __init__(self, fn):
        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True, name="thinkvl-prefetch")
        self._thread.start()

    def _run(self, fn) -> None:
        try:
            self._value = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer by result()
            self._error = exc
        finally:
            self._done.set()

    def result(self):
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value


class PrefetchedFeed:
    """A :class:`~thinkvl.train.data.StepFeed` one step ahead, with the consumed position's state.

    A data error (a bad record with skipping off) is raised by the ``next_step`` call that asks
    for that step, as without prefetching.
    """

    def __init__(self, feed):
        self.feed = feed
        self.shards = feed.shards
        self._job: _Job | None = None
        self._state, self._skips = feed.state_dict(), feed.skip_counts()

    def _produce(self) -> tuple[list[Pack], dict, dict[str, int]]:
        packs = self.feed.next_step()
        return packs, self.feed.state_dict(), self.feed.skip_counts()

    def next_step(self) -> list[Pack]:
        job = self._job or _Job(self._produce)
        self._job = None
        packs, self._state, self._skips = job.result()
        self._job = _Job(self._produce)
        return packs

    def state_dict(self) -> dict:
        return self._state

    def skip_counts(self) -> dict[str, int]:
        return self._skips

    def load_state_dict(self, state: dict) -> None:
        if self._job is not None:
            raise RuntimeError("load the data state before the first step (a step is already being prepared)")
        self.feed.load_state_dict(state)
        self._state, self._skips = self.feed.state_dict(), self.feed.skip_counts()
