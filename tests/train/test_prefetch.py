"""The prefetching feed yields the plain feed's rows and saves the *consumed* position."""

from __future__ import annotations

import json

import pytest

from thinkvl.model.factory import load_processor
from thinkvl.train.data import StepFeed
from thinkvl.train.prefetch import PrefetchedFeed
from thinkvl.train.samples import Budget, SampleEncoder, SampleError


def _feed(path, processor, skip: bool = False) -> StepFeed:
    enc = SampleEncoder(processor, "sft", Budget(seq_len=256, max_image_tokens=16, max_video_tokens=64))
    return StepFeed(path, rank=0, world_size=1, shards=None, packs_per_step=2, encode=enc, seq_len=256,
                    buffer_tokens=256, shuffle_seed=3, buffer_size=50, skip_invalid=False,
                    skip_bad_samples=skip)


def _ids(packs) -> list[list[str]]:
    return [[item.key["id"] for item in pack.items] for pack in packs]


def test_same_rows_and_a_state_that_resumes_exactly(world, tiny):
    processor = load_processor(tiny)
    path = world / "sft.jsonl"
    plain, ahead = _feed(path, processor), PrefetchedFeed(_feed(path, processor))
    plain_states = []
    for _ in range(4):
        assert _ids(ahead.next_step()) == _ids(plain.next_step())
        plain_states.append(plain.state_dict())
        # the thread has already drawn the next step; the saved position is still this one
        assert ahead.state_dict() == plain_states[-1]
    resumed = PrefetchedFeed(_feed(path, processor))
    resumed.load_state_dict(json.loads(json.dumps(ahead.state_dict())))
    for _ in range(3):
        assert _ids(resumed.next_step()) == _ids(plain.next_step())
    with pytest.raises(RuntimeError, match="before the first step"):
        resumed.load_state_dict(plain_states[0])


def test_a_bad_record_raises_at_the_step_that_needs_it(world, tiny):
    processor = load_processor(tiny)
    recs = [json.loads(x) for x in (world / "sft.jsonl").read_text().splitlines()[:40]]
    (world / "media" / "prefetch_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    recs[-1]["messages"][0]["content"][0]["image"] = "media/prefetch_corrupt.png"
    path = world / "sft_prefetch_bad.jsonl"  # beside the world's media (relative paths)
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    plain = _feed(path, processor)
    plain_steps = 0
    with pytest.raises(SampleError):
        while True:
            plain.next_step()
            plain_steps += 1
    ahead = PrefetchedFeed(_feed(path, processor))
    for _ in range(plain_steps):  # the steps before it come out whole
        ahead.next_step()
    with pytest.raises(SampleError, match="prefetch_corrupt.png"):
        ahead.next_step()
    skipping = PrefetchedFeed(_feed(path, processor, skip=True))
    for _ in range(plain_steps + 2):
        skipping.next_step()
    assert skipping.skip_counts()["bad_media"] >= 1
