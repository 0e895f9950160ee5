"""Property: arbitrary strings and nested tags never raise, never hang (pytest-timeout) and every
verifier scores them in [0, 1] on its own (the router does not clamp: it reports verifier_error)."""

from __future__ import annotations

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
TIME_LIMIT = 0.5  # a hang is ended by pytest-timeout; that the limit acts is asserted in test_reward_math

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
    r = quick_rs.score(text, ANSWERS[domain], domain, question="What is shown?")
    assert "timeout" not in r.flags or r.score == 0  # a verifier stopped by its limit scores 0
    # the router reports a verifier score outside [0, 1] as verifier_error instead of clamping it
    assert "verifier_error" not in r.flags, r.reason
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
    assert "verifier_error" not in r.flags, r.reason
    assert 0.0 <= r.score <= 1.0
