import pytest

from thinkvl.format import (
    FORCE_ANSWER_SUFFIX, add_nothink, extract_box, make_response, parse_response, strip_markers, wants_nothink,
)


def test_well_formed_response_has_one_box():
    text = make_response("42", think="6 times 7", lead="The answer is ")
    parsed = parse_response(text)
    assert parsed.well_formed, parsed.problems
    assert parsed.box == "42" and parsed.think == "6 times 7"


def test_empty_think_is_well_formed_for_nothink():
    assert parse_response(make_response("B")).well_formed


def test_problems_are_named():
    assert "no_box" in parse_response("<think>x</think><answer>42</answer>").problems
    two = "<think>x</think><answer><|begin_of_box|>1<|end_of_box|><|begin_of_box|>2<|end_of_box|></answer>"
    assert "multiple_boxes" in parse_response(two).problems and extract_box(two) is None
    only_think = "<think><|begin_of_box|>3<|end_of_box|></think><answer>3</answer>"
    assert {"box_in_think", "no_box"} <= set(parse_response(only_think).problems)
    assert "no_answer" in parse_response("<think>x</think>").problems
    assert "unclosed_think" in parse_response("<think>still thinking").problems
    assert "no_think" in parse_response("<answer><|begin_of_box|>1<|end_of_box|></answer>").problems
    trailing = make_response("1") + " and more"
    assert "text_outside_blocks" in parse_response(trailing).problems
    assert "unclosed_box" in parse_response("<think></think><answer><|begin_of_box|>1</answer>").problems


def test_boxed_latex_is_not_an_answer():
    assert extract_box("<think></think><answer>\\boxed{4}</answer>") is None


def test_nothink_helpers():
    assert add_nothink("What is it?") == "What is it? /nothink"
    assert add_nothink("x /nothink") == "x /nothink" and wants_nothink("x /nothink")
    assert FORCE_ANSWER_SUFFIX == "</think><answer>"
    assert strip_markers(make_response("7", think="a")) == "a 7"


def test_parser_never_raises_on_odd_input():
    for text in ["", "<think>", "</think></think>", "<answer></answer>" * 3, None]:
        parse_response(text)  # type: ignore[arg-type]


def test_box_scan_matches_the_regex_it_replaced():
    """split_boxes gives exactly what the old lazy regex found (and its substitution left)."""
    import random
    import re

    from thinkvl.format import BOX_CLOSE, BOX_OPEN, split_boxes

    old = re.compile(re.escape(BOX_OPEN) + r"(.*?)" + re.escape(BOX_CLOSE), re.DOTALL)
    rng = random.Random(0)
    alphabet = [BOX_OPEN, BOX_CLOSE, "x", "7", " ", "\n", "<answer>"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert split_boxes(text) == (old.findall(text), old.sub(" ", text)), repr(text)


@pytest.mark.timeout(120)
def test_parsing_is_linear_in_unclosed_markers():
    """Issue 20, finding 2: 8,000 unclosed box openers took 12.6 s (every opener rescanned to
    the end); 1 MB of them over 10 minutes. A policy repeating one special token must not stall
    training: the linear scan parses 1 MB (62,500 openers) in milliseconds, the quadratic one
    would run into this test's timeout."""
    from thinkvl.format import BOX_OPEN

    answer = BOX_OPEN * 62_500
    for text in (f"<think>x</think><answer>{answer}</answer>", f"<think>{answer}</think>"):
        parsed = parse_response(text)
        assert not parsed.well_formed and parsed.box is None
