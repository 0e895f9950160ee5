"""Format validation runs first: anything but exactly one box in the answer scores 0."""

from reward_helpers import resp

from thinkvl.format import ANSWER_CLOSE, ANSWER_OPEN, BOX_CLOSE, BOX_OPEN, THINK_CLOSE, THINK_OPEN


def test_well_formed_right_answer_scores(rs):
    r = rs.score(resp("3"), 3, "counting")
    assert (r.score, r.correct, r.flags, r.extracted, r.verifier) == (
        1.0,
        True,
        set(),
        3,
        "counting",
    )


def test_no_box_and_latex_boxed_fail(rs):
    r = rs.score(
        f"{THINK_OPEN}x{THINK_CLOSE}{ANSWER_OPEN}\\boxed{{3}}{ANSWER_CLOSE}", 3, "counting"
    )
    assert r.score == 0 and {"format_error", "no_box"} <= r.flags and "boxed" in r.reason


def test_multiple_boxes_fail(rs):
    boxes = f"{BOX_OPEN}3{BOX_CLOSE}{BOX_OPEN}4{BOX_CLOSE}"
    two = f"{THINK_OPEN}x{THINK_CLOSE}{ANSWER_OPEN}{boxes}{ANSWER_CLOSE}"
    r = rs.score(two, 3, "counting")
    assert r.score == 0 and {"format_error", "multiple_boxes"} <= r.flags


def test_box_only_in_think_fails(rs):
    text = f"{THINK_OPEN}{BOX_OPEN}3{BOX_CLOSE}{THINK_CLOSE}{ANSWER_OPEN}3{ANSWER_CLOSE}"
    r = rs.score(text, 3, "counting")
    assert r.score == 0 and "box_in_think" in r.flags


def test_empty_box_fails(rs):
    r = rs.score(resp("  "), "K7PX", "ocr")
    assert r.score == 0 and "empty_box" in r.flags


def test_truncated_is_flagged(rs):
    r = rs.score(f"{THINK_OPEN}I am still thinking about the squa", 3, "counting")
    assert r.score == 0 and {"truncated", "format_error"} <= r.flags
    r = rs.score(resp("3"), 3, "counting", meta={"finish_reason": "length"})
    assert "truncated" in r.flags and r.correct


def test_force_answered_response_still_scores(rs):
    box = f"{BOX_OPEN}3{BOX_CLOSE}"
    text = f"{THINK_OPEN}counting one two three{THINK_CLOSE}{ANSWER_OPEN}{box}{ANSWER_CLOSE}"
    assert rs.score(text, 3, "counting").correct


def test_non_string_response_is_a_format_error(rs):
    r = rs.score(None, 3, "counting")  # type: ignore[arg-type]
    assert r.score == 0 and "format_error" in r.flags


def test_unknown_domain_is_an_error_with_the_known_ones(rs):
    import pytest

    with pytest.raises(ValueError, match="configured domains"):
        rs.score(resp("3"), 3, "astrology")


def test_domain_aliases_and_case(rs):
    assert rs.score(resp("B"), "B", "MCQ").correct
    assert rs.score(resp("11"), "11", "Geometry").verifier == "math"


def test_result_is_json_ready(rs):
    import json

    d = rs.score(resp("3"), 3, "counting").to_dict()
    assert json.loads(json.dumps(d))["score"] == 1.0
