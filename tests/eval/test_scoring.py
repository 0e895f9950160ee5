"""Each scoring family, with the cases that must fail: empty, wrong letter, truncated think,
hedges, several boxes, and a failing judge reported as missing (never a silent 0)."""

import pytest

from evalkit import FakeJudge
from thinkvl.eval.benchmarks import CHOICE, GROUNDING, GUI, NATIVE, NUMERIC, OCR, OPEN, EvalItem
from thinkvl.eval.config import ScoringSettings
from thinkvl.eval.scoring import Scorer, answer_region
from thinkvl.format import make_response

PROMPT = [{"role": "user", "content": [{"type": "text", "text": "q"}]}]


def item(family, domain, answer, **meta):
    return EvalItem(id="x", bench="t", family=family, domain=domain, prompt=PROMPT,
                    answer=answer, question="Which one?", meta=meta)


@pytest.fixture(scope="module")
def scorer():
    s = Scorer()
    yield s
    s.close()


def boxed(x):
    return make_response(x, think="let me see")


CHOICE_ITEM = item(CHOICE, "choice", "A", choices=["cat", "dog", "bird"])


@pytest.mark.parametrize("text, correct, method, invalid", [
    (boxed("A"), True, "box", False),
    (boxed("(A) cat"), True, "box", False),
    ("<think>hm</think><answer>The answer is (A).</answer>", True, "rule", False),
    ("<think>hm</think><answer>cat</answer>", True, "rule", False),
    ("The answer is C", False, "rule", False),  # no think markers at all: the whole text answers
    (boxed("C"), False, "box", False),
    ("", False, "none", True),  # empty prediction
    (boxed(""), False, "none", True),  # empty box
    ("<think>so the answer is A because", False, "none", True),  # truncated think, no answer
    ("<think><|begin_of_box|>A<|end_of_box|></think><answer></answer>", False, "none", True),
    ("<think>x</think><answer><|begin_of_box|>A<|end_of_box|> or "
     "<|begin_of_box|>B<|end_of_box|></answer>", False, "none", True),  # several boxes
    (boxed("A or B"), False, "box", False),  # several options in one box
    ("<think>x</think><answer>A cat sits there.</answer>", False, "none", True),  # no guessing
    ("<think>x</think><answer>The answer is A. No wait, the answer is B.</answer>",
     False, "none", True),  # contradicting itself
])
def test_multiple_choice(scorer, text, correct, method, invalid):
    s = scorer.score(CHOICE_ITEM, text)
    assert (s.correct, s.method, s.invalid) == (correct, method, invalid), s
    assert s.score == (1.0 if correct else 0.0)


def test_truncated_think_has_no_answer_region():
    assert answer_region("<think>the answer is 5") == ""
    assert answer_region("plain 5") == "plain 5"
    assert answer_region("<think>a</think><answer>5</answer>") == "5"


@pytest.mark.parametrize("answer, meta, text, correct", [
    ("1.45", {"answer_type": "float", "precision": 2.0}, boxed("1.4502"), True),
    ("1.45", {"answer_type": "float", "precision": 2.0}, boxed("1.46"), False),
    ("1.45", {"answer_type": "float", "precision": 2.0, "unit": "cm"}, boxed("1.45 cm"), True),
    ("3", {"answer_type": "integer", "precision": None}, boxed("3.0"), True),
    ("3", {"answer_type": "integer", "precision": None}, "<think>x</think>The answer is 3.", True),
    ("3", {"answer_type": "integer", "precision": None}, boxed("between 2 and 4"), False),
    ("3", {"answer_type": "integer", "precision": None}, "<think>x</think>maybe 2 or 4", False),
])
def test_numeric_with_precision(scorer, answer, meta, text, correct):
    s = scorer.score(item(NUMERIC, "math", answer, **meta), text)
    assert s.correct is correct, s
    if "maybe" in text:
        assert s.invalid and s.method == "none"  # two different numbers: no guess


def test_ocr_anls(scorer):
    it = item(OCR, "ocr", "HELLO WORLD")
    exact, near, far = (scorer.score(it, boxed(t)) for t in ("HELLO WORLD", "HELLO W0RLD", "xyz"))
    assert exact.correct and exact.score == 1.0
    assert not near.correct and 0.8 < near.score < 1.0  # partial credit above the threshold
    assert far.score == 0.0 and not far.correct  # below 0.5 similarity: ANLS gives 0


def test_grounding_iou(scorer):
    it = item(GROUNDING, "grounding", [[100, 100, 300, 300]])
    assert scorer.score(it, boxed("[110, 100, 300, 310]")).correct
    assert not scorer.score(it, boxed("[250, 250, 600, 600]")).correct  # IoU < 0.5
    rule = scorer.score(it, "<think>x</think>It is at [100, 100, 300, 300].")
    assert rule.correct and rule.method == "rule"
    assert scorer.score(it, boxed("")).invalid


def test_gui_point_in_box(scorer):
    it = item(GUI, "gui", {"action": "click", "bbox": [100, 100, 300, 300]})
    assert scorer.score(it, boxed("CLICK [200, 200]")).correct
    assert not scorer.score(it, boxed("CLICK [900, 900]")).correct
    assert not scorer.score(it, boxed("TYPE [200, 200] 'x'")).correct


def test_native_synthetic_domains(scorer):
    assert scorer.score(item(NATIVE, "counting", 3), boxed("3")).correct
    assert not scorer.score(item(NATIVE, "counting", 3), boxed("3-4")).correct  # a range
    counted = scorer.score(item(NATIVE, "counting", 3), "<think>x</think>There are 3.")
    assert counted.method == "rule" and counted.correct
    it = item(CHOICE, "choice", "C", options={"A": "square", "B": "diamond", "C": "circle"})
    assert scorer.score(it, boxed("circle")).correct


def test_open_answers_without_judge_are_rules_only(scorer):
    it = item(OPEN, "vqa", "Paris")
    assert scorer.score(it, boxed("paris")).correct
    s = scorer.score(it, boxed("the city of Paris"))
    assert not s.correct and "rules only" in s.reason


def test_judge_and_llm_parser_over_http(tmp_path):
    judge = FakeJudge()
    try:
        settings = ScoringSettings(judge={"enabled": True, "base_url": judge.url, "model": "fake",
                                          "cache_dir": str(tmp_path), "max_retries": 0})
        scorer = Scorer.from_settings(settings)
        assert scorer.describe()["judge"] == "fake"
        judged = scorer.score(item(OPEN, "vqa", "Paris"), boxed("the city of Paris"))
        assert judged.correct and "judged" in judged.flags
        free = "<think>x</think><answer>I'd go with the second animal. FINAL=B</answer>"
        parsed = scorer.score(item(CHOICE, "choice", "B", choices=["cat", "dog"]), free)
        assert parsed.method == "llm" and parsed.prediction == "B" and parsed.correct
        # the parser is not asked about truncated thinking: nothing to extract from
        calls = judge.calls
        trunc = scorer.score(CHOICE_ITEM, "<think>FINAL=A")
        assert trunc.invalid and judge.calls == calls
        # cached: the same extraction again makes no HTTP call
        scorer.score(item(CHOICE, "choice", "B", choices=["cat", "dog"]), free)
        assert judge.calls == calls
        scorer.close()
    finally:
        judge.close()


def test_failed_judge_is_missing_not_zero(tmp_path):
    judge = FakeJudge(fail=True)
    try:
        settings = ScoringSettings(judge={"enabled": True, "base_url": judge.url, "model": "down",
                                          "cache_dir": None, "max_retries": 0})
        scorer = Scorer.from_settings(settings)
        s = scorer.score(item(OPEN, "vqa", "Paris"), boxed("the city of Paris"))
        assert s.missing and s.judge_failed and "judge_failed" in s.flags
        p = scorer.score(CHOICE_ITEM, "<think>x</think><answer>hmm, FINAL=A</answer>")
        assert p.invalid and p.judge_failed and p.prediction is None
        scorer.close()
    finally:
        judge.close()


def test_unknown_domain_fails_before_generation(scorer):
    with pytest.raises(ValueError, match="no reward verifier for domain.*astrology"):
        scorer.check_domains([item(NATIVE, "astrology", "x"), item(NATIVE, "counting", 1)])
