"""Issue 20, findings 2-3: bounded work per item, for every verifier.

- the router stops any item's rule stage at ``limits.item_timeout_s`` (hard on the main thread,
  measured elsewhere) and scores it 0 with a counted ``timeout`` flag;
- one item whose scoring raises is scored 0 (``verifier_error``); the batch goes on;
- OCR's edit distance is bit-parallel and refuses (``too_long``) pairs past a cell budget.
"""

from __future__ import annotations

import random
import signal
import threading
import time

import pytest
from reward_helpers import resp

from thinkvl.rewards import RewardSystem
from thinkvl.rewards.extract import TooLongToCompare, edit_distance, similarity
from thinkvl.rewards.result import Outcome
from thinkvl.rewards.verifiers import REGISTRY, Verifier, register

if "test_stuck" not in REGISTRY:

    @register
    class _Stuck(Verifier):
        """A verifier that never finishes on "loop" and takes 0.3 s on "slow"."""

        name = "test_stuck"

        def check(self, box, gold, ctx):
            if box == "loop":
                while True:  # what a catastrophic regex or a runaway loop looks like
                    pass
            if box == "slow":
                time.sleep(0.3)
            if box == "boom":
                raise RuntimeError("a bug in a verifier")
            if box in ("1.5", "-0.25", "nan"):  # a verifier's arithmetic gone wrong
                return Outcome(float(box), True, "out of range", box)
            return Outcome(1.0, True, "fine", box)


def _system(limit: float) -> RewardSystem:
    return RewardSystem({"limits": {"item_timeout_s": limit},
                         "domains": {"stuck": {"verifier": "test_stuck"}}})


def test_a_stuck_verifier_is_stopped_at_the_limit():
    with _system(0.2) as rs:
        # without the limit the "loop" item never returns (pytest-timeout would end the test)
        out = rs.score_batch([{"response": resp(b), "answer": "x", "domain": "stuck"}
                              for b in ("ok", "loop", "ok")])
        assert [r.score for r in out] == [1.0, 0.0, 1.0]
        assert out[1].flags == {"timeout"} and "per-item limit" in out[1].reason
        assert rs.summary()["limits"]["timeouts"] == 1
        assert rs.summary()["domains"]["stuck"]["flags"] == {"timeout": 1}


def test_off_the_main_thread_the_limit_is_measured():
    """No signals in a worker thread: the item runs to its end but cannot earn reward."""
    got = {}
    with _system(0.1) as rs:
        worker = threading.Thread(target=lambda: got.update(r=rs.score(resp("slow"), "x", "stuck")))
        worker.start()
        worker.join(30)
        assert got["r"].score == 0.0 and "timeout" in got["r"].flags
        assert rs.score(resp("ok"), "x", "stuck").score == 1.0


def test_a_callers_own_alarm_survives_a_batch():
    """pytest-timeout and job watchdogs use SIGALRM too: their timer is paused, then re-armed."""
    fired = []
    old = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 50.0)
        with _system(0.2) as rs:
            rs.score_batch([{"response": resp("loop"), "answer": "x", "domain": "stuck"}])
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 40.0 < left <= 50.0 and not fired
        assert signal.getsignal(signal.SIGALRM) is not None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_one_failing_item_never_fails_the_batch():
    with _system(5.0) as rs:
        out = rs.score_batch([{"response": resp(b), "answer": "x", "domain": "stuck"}
                              for b in ("boom", "ok")])
        assert out[0].score == 0 and "verifier_error" in out[0].flags
        assert out[1].score == 1.0


@pytest.mark.parametrize("box", ["1.5", "-0.25", "nan"])
def test_a_score_outside_0_1_is_reported_not_clamped(box):
    """Clamping would hide the bug (1.5 became a plain 1.0 pass): it is a verifier_error, 0."""
    with _system(5.0) as rs:
        r = rs.score(resp(box), "x", "stuck")
        assert r.score == 0.0 and not r.correct and "verifier_error" in r.flags
        assert "test_stuck" in r.reason and "outside [0, 1]" in r.reason
        assert rs.score(resp("ok"), "x", "stuck").score == 1.0


def test_malformed_references_never_raise(rs):
    """A 5,000-digit integer has no str(); NaN, deep lists and None are no references either."""
    weird = [10**5000, -(10**5000), float("nan"), float("inf"), [[[[[[[1]]]]]]], None, "\ud800"]
    for domain in rs.domains:
        items = [{"response": resp("3"), "answer": a, "domain": domain} for a in weird]
        for r in rs.score_batch(items):
            assert r.score == 0.0 and not r.correct, (domain, r)
            assert "verifier_error" not in r.flags, (domain, r.reason)


def _dp(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def test_bit_parallel_edit_distance_equals_the_textbook_one():
    rng = random.Random(0)
    for _ in range(3000):
        a = "".join(rng.choice("abcé") for _ in range(rng.randint(0, 14)))
        b = "".join(rng.choice("abcd") for _ in range(rng.randint(0, 14)))
        assert edit_distance(a, b) == _dp(a, b), (a, b)
    for _ in range(30):
        a = "".join(rng.choice("abcdefgh") for _ in range(rng.randint(60, 140)))
        b = "".join(rng.choice("abcdefgh") for _ in range(rng.randint(60, 140)))
        assert edit_distance(a, b) == _dp(a, b)


def test_ocr_on_a_huge_reference_is_cheap_and_exact(rs):
    """Finding 3: 999 characters against 20,000 took 19.5 s with the O(n·m) Python DP, far past
    the reward system's 1 s per-item limit (it would come back flagged ``timeout``, score 0);
    bit-parallel it is ~0.02 s, 50x inside the limit, and exact."""
    rng = random.Random(1)
    alphabet = "ABCDEFGHJK0123456789 "
    box = "".join(rng.choice(alphabet) for _ in range(999))
    ref = "".join(rng.choice(alphabet) for _ in range(20_000))
    r = rs.score(resp(box), ref, "ocr")
    assert 0 < r.score < 0.1 and "timeout" not in r.flags  # exact: 1 - d / 20,000


def test_pairs_past_the_cell_budget_are_refused(rs):
    with pytest.raises(TooLongToCompare, match="too many to compare"):
        similarity("a" * 1000 + "x", "b" * 5000, max_cells=1_000_000)
    ref = "ABCD" * 750_000  # 3,000,000 characters x a 1,000-character box: 3e9 cells
    r = rs.score(resp("ABCE" * 250), ref, "ocr")
    assert r.score == 0.0 and "too_long" in r.flags and "too many to compare" in r.reason
