"""The packed-row feed of a supervised run: shards of the record stream, each packed on its own.

The data is cut into ``shards`` (default: one per process). Shard ``s`` reads records ``p`` with
``p % shards == s`` and packs them with its own best-fit buffer; process ``r`` owns the shards
``s % world_size == r``. A step takes the same number of rows from every shard, so the global
batch — and with it the loss curve — does not depend on how many processes run it.

State per shard: the record stream's position plus the records waiting in the packing buffer
(re-encoded on resume), so a resumed run sees exactly the rows it would have seen.
Bad records and unusable samples raise, or are skipped and counted per reason when configured.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator

from thinkvl.data.io import read_records
from thinkvl.data.packing import Pack, Packer, PackItem, needs_more
from thinkvl.train.samples import SampleError

log = logging.getLogger("thinkvl.train")


class ShardFeed:
    """Packed rows of one data shard, resumable."""

    def __init__(self, files, shard: int, shards: int, encode: Callable[[dict], PackItem], *,
                 seq_len: int, buffer_tokens: int, shuffle_seed: int | None, buffer_size: int,
                 skip_invalid: bool, skip_bad_samples: bool, media_roots: tuple = ()):
        self.stream = read_records(files, rank=shard, world_size=shards, shuffle_seed=shuffle_seed,
                                   buffer_size=buffer_size, skip_invalid=skip_invalid,
                                   media_roots=media_roots)
        self.encode = encode
        self.skip_bad_samples = skip_bad_samples
        self.buffer_tokens = max(buffer_tokens, seq_len)
        self.packer = Packer(seq_len)
        self.skipped: Counter[str] = Counter()
        self._records: Iterator[dict] | None = None

    def _forever(self) -> Iterator[dict]:
        empty = 0  # a resumed stream may sit at an epoch's end: one empty pass is fine
        while True:
            got = False
            for rec in self.stream:
                got = True
                yield rec
            empty = 0 if got else empty + 1
            if empty >= 2:
                raise ValueError(f"data shard {self.stream.rank} of {self.stream.world_size} "
                                 f"yields no records (files: {[str(f) for f in self.stream.files]}; "
                                 f"{self.stream.skipped} skipped as invalid)")

    def _add(self, record: dict) -> None:
        try:
            self.packer.add(self.encode(record))
        except SampleError as err:
            if not self.skip_bad_samples:
                raise
            self.skipped[err.reason] += 1
            if sum(self.skipped.values()) <= 10:
                log.warning("skipping sample: %s", err)

    def next_pack(self) -> Pack:
        if self._records is None:
            self._records = self._forever()
        while needs_more(self.packer, self.buffer_tokens, 16 * self.buffer_tokens):
            self._add(next(self._records))
        return self.packer.pop_pack()

    def skip_counts(self) -> dict[str, int]:
        return {"invalid_record": self.stream.skipped, **self.skipped}

    def state_dict(self) -> dict:
        return {"stream": self.stream.state_dict(), "buffer": self.packer.keys(),
                "skipped": dict(self.skipped)}

    def load_state_dict(self, state: dict) -> None:
        self.stream.load_state_dict(state["stream"])
        self._records = None
        self.packer = Packer(self.packer.seq_len)
        self.skipped = Counter(state.get("skipped", {}))
        for record in state["buffer"]:
            self._add(record)


class StepFeed:
    """The rows one process trains on at each step (its shards' share of the global batch)."""

    def __init__(self, files, *, rank: int, world_size: int, shards: int | None, packs_per_step: int,
                 encode: Callable[[dict], PackItem], seq_len: int, buffer_tokens: int,
                 shuffle_seed: int | None, buffer_size: int, skip_invalid: bool,
                 skip_bad_samples: bool, media_roots: tuple = ()):
        shards = shards or world_size
        if shards % world_size:
            raise ValueError(f"data.shards={shards} must be a multiple of the {world_size} processes")
        if packs_per_step % shards:
            raise ValueError(f"train.packs_per_step={packs_per_step} must be a multiple of the "
                             f"{shards} data shards (data.shards, default: number of processes)")
        self.shards = shards
        self.packs_per_shard = packs_per_step // shards
        self.feeds = {
            s: ShardFeed(files, s, shards, encode, seq_len=seq_len, buffer_tokens=buffer_tokens,
                         shuffle_seed=shuffle_seed, buffer_size=buffer_size,
                         skip_invalid=skip_invalid, skip_bad_samples=skip_bad_samples,
                         media_roots=media_roots)
            for s in range(shards) if s % world_size == rank
        }

    def next_step(self) -> list[Pack]:
        return [feed.next_pack() for feed in self.feeds.values() for _ in range(self.packs_per_shard)]

    def skip_counts(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for feed in self.feeds.values():
            total.update(feed.skip_counts())
        return dict(total)

    def state_dict(self) -> dict:
        return {"shards": self.shards, "feeds": {str(s): f.state_dict() for s, f in self.feeds.items()}}

    def load_state_dict(self, state: dict) -> None:
        """Restore from a merged state (all shards); shard count must match."""
        if int(state["shards"]) != self.shards:
            raise ValueError(f"the checkpoint's data has {state['shards']} shards, this run {self.shards}; "
                             f"resume with data.shards={state['shards']}")
        for s, feed in self.feeds.items():
            feed.load_state_dict(state["feeds"][str(s)])
