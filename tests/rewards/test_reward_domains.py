"""Per-domain verifiers on outputs shaped like each domain's real distribution."""

from __future__ import annotations

import pytest
from reward_helpers import resp


def score(rs, box, answer, domain, **kw):
    return rs.score(resp(box), answer, domain, **kw)


# ---------------------------------------------------------------- counting
@pytest.mark.parametrize(
    "box,ok",
    [
        ("3", True),
        ("3.0", True),
        ("three", True),
        ("3 squares", True),
        ("There are 3 red squares.", True),
        ("4", False),
    ],
)
def test_counting_accepts_one_integer(rs, box, ok):
    assert score(rs, box, 3, "counting").correct is ok


@pytest.mark.parametrize(
    "box",
    [
        "2-4",
        "3 or 4",
        "between 1 and 10",
        "about 3",
        "at least 3",
        "3, 4",
        "3 (three)",
        "3.5",
        "~3",
        "a few",
        "",
    ],
)
def test_counting_rejects_ranges_hedges_and_several_numbers(rs, box):
    r = score(rs, box, 3, "counting")
    assert r.score == 0 and not r.correct, box


def test_counting_reference_as_string(rs):
    assert score(rs, "12", "12", "counting").correct


# ---------------------------------------------------------------- choice
OPTS = {"options": {"A": "circle", "B": "square", "C": "triangle", "D": "star"}}


@pytest.mark.parametrize(
    "box",
    ["B", "(B)", "B.", "B) square", "Option B", "The answer is B", "\\text{B}", "b", "square"],
)
def test_choice_single_letter_forms(rs, box):
    assert score(rs, box, "B", "choice", meta=OPTS).correct, box


@pytest.mark.parametrize(
    "box",
    [
        "A, B, C, D",
        "A B C D",
        "ABCD",
        "A or B",
        "A and B",
        "B. triangle",
        "C",
        "E",
        "circle or square",
    ],
)
def test_choice_several_or_wrong_letters_score_zero(rs, box):
    r = score(rs, box, "B", "choice", meta=OPTS)
    assert r.score == 0 and not r.correct, box


def test_choice_without_options(rs):
    assert score(rs, "D", "D", "choice").correct
    assert not score(rs, "A/D", "D", "choice").correct


# ---------------------------------------------------------------- ocr
def test_ocr_exact_and_partial(rs):
    assert score(rs, "K7PX", "K7PX", "ocr").correct
    near = score(rs, "K7PY", "K7PX", "ocr")
    assert not near.correct and near.score == pytest.approx(0.75)
    assert score(rs, "k7px", "K7PX", "ocr").score == pytest.approx(0.25)  # case matters
    assert score(rs, "HELLO  WORLD", "HELLO WORLD", "ocr").correct  # whitespace collapsed


def test_ocr_very_long_string_scores_zero(rs):
    r = score(rs, "K7PX" * 100, "K7PX", "ocr")
    assert r.score == 0 and "too_long" in r.flags


# ---------------------------------------------------------------- chart
@pytest.mark.parametrize(
    "box,gold,ok",
    [
        ("45", 45, True),
        ("45.0", 45, True),
        ("46", 45, True),
        ("50", 45, False),
        ("45%", "45%", True),
        ("$1,200", 1200, True),
        ("2019", 2020, False),
        ("2020", 2020, True),
        ("2021", "2020", False),
        ("Asia", "Asia", True),
        ("asia", "Asia", True),
        ("Europe", "Asia", False),
        ("12 million", 12, True),
    ],
)
def test_chart(rs, box, gold, ok):
    assert score(rs, box, gold, "chart").correct is ok


def test_chart_rejects_ranges_and_tolerance_bands(rs):
    for box in ("40-50", "45 ± 5", "40 to 50", "about 45", "45, 46"):
        assert score(rs, box, 45, "chart").score == 0, box


def test_chart_text_without_judge_says_rules_only(rs):
    r = score(rs, "the Asian market", "Asia", "chart")
    assert r.score == 0 and "rules_only" in r.flags and "no judge configured" in r.reason


# ---------------------------------------------------------------- vqa / video / spatial / long_doc
@pytest.mark.parametrize("domain", ["vqa", "video", "spatial", "long_doc"])
def test_text_domains_exact_then_rules_only(rs, domain):
    assert score(rs, "Left.", "left", domain).correct
    assert score(rs, "the red car", "red car", domain).correct
    r = score(rs, "towards the left-hand side", "left", domain)
    assert r.score == 0 and "rules_only" in r.flags


def test_video_integer_reference(rs):
    assert score(rs, "3", 3, "video").correct
    assert score(rs, "three", 3, "video").correct
    assert score(rs, "3 times", 3, "video").correct
    assert not score(rs, "4", 3, "video").correct
    assert score(rs, "2-4", 3, "video").score == 0


def test_text_reference_alternatives(rs):
    assert score(rs, "sofa", ["couch", "sofa"], "vqa").correct


def test_short_answer_lists_are_rejected(rs):
    r = score(rs, "left, right", "left", "vqa")
    assert r.score == 0 and "multiple_answers" in r.flags
    assert score(rs, "red and blue", "red and blue", "vqa").correct


# ---------------------------------------------------------------- grounding
G1 = [[100, 100, 300, 300]]


def test_grounding_fraction_of_predicted_boxes(rs):
    assert score(rs, "[100, 100, 300, 300]", G1, "grounding").correct
    assert score(rs, "[[110, 105, 305, 298]]", G1, "grounding").correct
    # a second box for one target is a hedge (issue 20: it earned 0.5 at max_box_ratio 2)
    half = score(rs, "[[100, 100, 300, 300], [600, 600, 700, 700]]", G1, "grounding")
    assert half.score == 0 and "multiple_answers" in half.flags and not half.correct
    two = [[100, 100, 300, 300], [500, 500, 700, 700]]
    r = score(rs, "[[500, 500, 700, 700], [100, 100, 300, 300]]", two, "grounding")
    assert r.correct and r.score == 1.0
    one_of_two = score(rs, "[100, 100, 300, 300]", two, "grounding")
    assert one_of_two.score == 1.0 and not one_of_two.correct  # all predicted boxes are right


def test_grounding_hacks(rs):
    assert score(rs, "[0, 0, 1000, 1000]", G1, "grounding").score == 0
    grid = ", ".join(
        f"[{x}, {y}, {x + 100}, {y + 100}]"
        for x in range(0, 1000, 100)
        for y in range(0, 1000, 100)
    )
    assert score(rs, grid, G1, "grounding").score == 0
    dup = score(rs, "[100, 100, 300, 300], [100, 100, 300, 300]", G1, "grounding")
    assert dup.score == 0  # more boxes than targets
    two = [[100, 100, 300, 300], [500, 500, 700, 700]]
    dup = score(rs, "[100, 100, 300, 300], [100, 100, 300, 300]", two, "grounding")
    assert dup.score == pytest.approx(0.5)  # a reference box is matched once
    assert score(rs, "[300, 300, 100, 100]", G1, "grounding").score == 0  # inverted box
    assert score(rs, "[100, 100, 3000, 300]", G1, "grounding").score == 0  # off the grid
    assert score(rs, "the blue circle", G1, "grounding").score == 0


def test_grounding_reference_shapes(rs):
    assert score(rs, "[100, 100, 300, 300]", [100, 100, 300, 300], "grounding").correct
    assert score(rs, "[100, 100, 300, 300]", {"boxes": G1}, "grounding").correct


# ---------------------------------------------------------------- gui
CLICK = {"action": "click", "bbox": [400, 200, 600, 400]}
TYPE = {"action": "type", "text": "hello", "bbox": [400, 200, 600, 400]}


@pytest.mark.parametrize(
    "box",
    [
        "CLICK [512, 300]",
        '{"action_type": "click", "x": 500, "y": 300}',
        "pyautogui.click(500, 300)",
        "pyautogui.click(x=500, y=300)",
        '{"action": "tap", "coordinate": [450, 250]}',
        "```python\npyautogui.click(500, 300)\n```",
    ],
)
def test_gui_click_formats(rs, box):
    r = score(rs, box, CLICK, "gui")
    assert r.correct and r.score == 1.0, (box, r.reason)


@pytest.mark.parametrize(
    "box",
    [
        "CLICK [100, 100]",
        "pyautogui.click(700, 300)",
        "pyautogui.doubleClick(500, 300)",
        "TYPE [500, 300] hi",
        "CLICK [2000, 300]",
        "CLICK",
    ],
)
def test_gui_click_misses(rs, box):
    assert score(rs, box, CLICK, "gui").score == 0, box


def test_gui_click_every_element_scores_zero(rs):
    many = "CLICK [100, 100]\nCLICK [500, 300]\nCLICK [800, 800]"
    r = score(rs, many, CLICK, "gui")
    assert r.score == 0 and "multiple_answers" in r.flags
    assert (
        score(rs, "pyautogui.click(100, 100); pyautogui.click(500, 300)", CLICK, "gui").score == 0
    )
    assert (
        score(
            rs,
            '[{"action_type": "click", "x": 500, "y": 300}, '
            '{"action_type": "click", "x": 10, "y": 10}]',
            CLICK,
            "gui",
        ).score
        == 0
    )


def test_gui_type_by_similarity(rs):
    assert score(rs, "TYPE [500, 300] hello", TYPE, "gui").correct
    assert score(rs, 'pyautogui.click(500, 300); pyautogui.write("hello")', TYPE, "gui").correct
    assert score(
        rs, '{"action_type": "input_text", "text": "hello", "x": 500, "y": 300}', TYPE, "gui"
    ).correct
    near = score(rs, "TYPE [500, 300] hallo", TYPE, "gui")
    assert not near.correct and near.score == pytest.approx(0.8)
    assert score(rs, "TYPE [50, 30] hello", TYPE, "gui").score == 0  # wrong field


def test_gui_parsing_never_evaluates(rs, tmp_path):
    marker = tmp_path / "pwned"
    evil = [
        f"pyautogui.click(__import__('os').system('touch {marker}'), 1)",
        f"__import__('os').system('touch {marker}')",
        "pyautogui.click(*[1, 2])",
        "import os; pyautogui.click(1, 2)",
        '{"action_type": "click", "x": "__import__(\'os\')", "y": 1}',
    ]
    for box in evil:
        r = score(rs, box, CLICK, "gui")
        assert r.score == 0
    assert not marker.exists()


def test_gui_other_actions(rs):
    assert score(rs, "SCROLL down", {"action": "scroll", "direction": "down"}, "gui").correct
    assert score(
        rs, "pyautogui.scroll(-5)", {"action": "scroll", "direction": "down"}, "gui"
    ).correct
    assert score(rs, "pyautogui.press('enter')", {"action": "press", "key": "enter"}, "gui").correct
    assert not score(rs, "SCROLL up", {"action": "scroll", "direction": "down"}, "gui").correct


# ---------------------------------------------------------------- physics / chemistry
def test_physics_quantities_and_numbers(rs):
    assert score(rs, "3 \\times 10^8 m/s", "3\\times10^8 m/s", "physics").correct
    assert score(rs, "9.8 \\text{m/s}^2", "9.81 m/s^2", "physics").correct  # 1 % tolerance
    assert not score(rs, "12 m/s", "3\\times10^8 m/s", "physics").correct
    r = score(rs, "300000 km/s", "3\\times10^8 m/s", "physics")
    assert r.score == 0 and "rules_only" in r.flags  # a unit conversion needs the judge
    assert score(rs, "\\frac{1}{2}", "0.5", "physics").correct  # no units: as math
    assert score(rs, "very close to the speed of light", "c", "physics").score == 0


def test_chemistry_formulas_are_text_not_algebra(rs):
    assert score(rs, "H_2O", "H_2O", "chemistry").correct
    assert score(rs, "H_{2}O", "H_2O", "chemistry").correct
    assert not score(rs, "ClNa", "NaCl", "chemistry").correct  # not N*a*C*l
    assert score(rs, "0.25 mol", "0.25 mol", "chemistry").correct
    assert score(rs, "2", "2", "chemistry").correct


# ---------------------------------------------------------------- general
def test_general_without_judge(rs):
    assert score(rs, "Paris", "Paris", "general").correct
    r = score(rs, "The capital is Paris.", "Paris", "general")
    assert r.score == 0 and "rules_only" in r.flags
    r = score(rs, "Some open answer", None, "general")
    assert r.score == 0 and "no_reference" in r.flags
