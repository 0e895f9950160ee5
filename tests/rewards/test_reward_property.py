"""Property: arbitrary strings and nested tags never raise, never hang and score in [0, 1]."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thinkvl.format import PROTOCOL_MARKERS
from thinkvl.rewards import RewardSystem

ANSWERS = {
    "math": "3/4",
    "physics": "3\\times10^8 m/s",
    "chemistry": "H_2O",
    "chart": 45,
    "ocr": "K7PX",
    "counting": 3,
    "choice": "B",
    "vqa": "left",
    "video": 3,
    "spatial": "left",
    "long_doc": "1999",
    "grounding": [[100, 100, 300, 300]],
    "gui": {"action": "type", "text": "hello", "bbox": [400, 200, 600, 400]},
    "general": "Paris",
}
TIME_LIMIT = 0.5
# A bound on a hang, not a speed figure (a busy CI machine stretches a kill and a worker restart
# past any tight one); that the math limit acts is asserted from verdicts in test_reward_math.
HANG_S = 30.0

pieces = st.one_of(
    st.sampled_from(PROTOCOL_MARKERS),
    st.text(max_size=30),
    st.sampled_from(
        [
            "\\frac{",
            "}",
            "^{",
            "10",
            "[",
            "]",
            ",",
            "x",
            "\\sqrt",
            "(",
            ")",
            "!",
            "CLICK [",
            "pyautogui.click(",
            '{"action_type": ',
            "between",
            "或",
            "\\boxed{",
            "A, B",
            "3",
            " ",
            "\n",
            "\\left(",
            "e",
            "%",
            "$",
        ]
    ),
)
responses = st.lists(pieces, max_size=40).map("".join)
boxed = st.lists(pieces, max_size=12).map(
    lambda p: "<think>t</think><answer><|begin_of_box|>" + "".join(p) + "<|end_of_box|></answer>"
)


@pytest.fixture(scope="module")
def quick_rs():
    rs = RewardSystem({"math": {"timeout_s": TIME_LIMIT}})
    rs.warmup()
    yield rs
    rs.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.one_of(responses, boxed), domain=st.sampled_from(sorted(ANSWERS)))
def test_any_string_scores_in_range_within_time(quick_rs, text, domain):
    start = time.monotonic()
    r = quick_rs.score(text, ANSWERS[domain], domain, question="What is shown?")
    assert time.monotonic() - start < HANG_S
    assert "timeout" not in r.flags or r.score == 0  # a verifier stopped by its limit scores 0
    assert 0.0 <= r.score <= 1.0 and isinstance(r.correct, bool) and isinstance(r.flags, set)
    assert not r.correct or r.score > 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    answer=st.one_of(
        st.none(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(max_size=20),
        st.lists(st.integers(), max_size=5),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    ),
    domain=st.sampled_from(sorted(ANSWERS)),
    box=st.text(max_size=20),
)
def test_any_reference_never_raises(quick_rs, answer, domain, box):
    text = f"<think></think><answer><|begin_of_box|>{box}<|end_of_box|></answer>"
    r = quick_rs.score(text, answer, domain)
    assert 0.0 <= r.score <= 1.0
