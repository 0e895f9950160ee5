"""OCRBench containment, OCRBench v2's VQA rules and ChartQA relaxed accuracy, at the
boundaries their published rules draw."""

import pytest
from metrickit import S, item, score

from thinkvl.eval.benchmarks import OCR
from thinkvl.eval.metrics import get_metric
from thinkvl.eval.metrics.text import relaxed

# -- OCRBench ------------------------------------------------------------------------------------

def test_ocrbench_containment_case_insensitive():
    it = item(["Hello World"], "ocrbench", OCR, dataset="IIIT5K")
    assert score(it, "The sign says HELLO world.").correct
    assert not score(it, "Hello").correct
    hme = item(["x^{2}+1"], "ocrbench", OCR, dataset="HME100k")
    assert score(hme, "x ^ { 2 } + 1").correct  # HME100k: spaces removed
    assert not score(item(["X"], "ocrbench", OCR, dataset="HME100k"), "x").correct  # keeps case
    assert score(item(["X"], "ocrbench", OCR, dataset="IIIT5K"), "x").correct
    total = get_metric("ocrbench").aggregate([(it, S(True)), (it, S(False)), (it, S(True))])
    assert total["score_out_of_n"] == 2.0


def test_ocrbench_v2_rules():
    mc = item(["B"], "ocrbench_v2", OCR, type="diagram QA en", eval="multiple choice")
    assert score(mc, "B").correct and not score(mc, "B or C").correct
    short = item(["stop"], "ocrbench_v2", OCR, type="text recognition en", eval=None)
    assert score(short, "It says STOP").correct
    long_gold = "the quick brown fox jumps over"
    longer = item([long_gold], "ocrbench_v2", OCR, type="cognition VQA en", eval=None)
    near = score(longer, "the quick brown fox jumped over")
    assert 0.5 < near.score < 1.0 and not near.correct  # ANLS, not containment, for 5+ words
    cs = item(["Stop"], "ocrbench_v2", OCR, type="text recognition en", eval="case sensitive")
    assert not score(cs, "STOP").correct
    count = item(["10"], "ocrbench_v2", OCR, type="text counting en", eval="regression")
    assert score(count, "8").score == pytest.approx(0.8) and score(count, "30").score == 0.0


# -- ChartQA -------------------------------------------------------------------------------------

@pytest.mark.parametrize("pred, target, ok", [
    ("47", "45", True), ("47.25", "45", True), ("47.3", "45", False), ("48", "45", False),
    ("45%", "45", False),  # "x%" reads as x/100 (pix2struct's rule)
    ("0.45", "45%", True), ("0.0", "0", False),  # a zero target compares as text
    ("yes", "Yes", True), ("Yes.", "Yes", False), ("2019", "2019", True),
])
def test_chartqa_relaxed_accuracy(pred, target, ok):
    assert relaxed(pred, target) is ok
    assert score(item(target, "chartqa"), pred).correct is ok


def test_chartqa_reads_the_number_from_a_sentence():
    it = item("45", "chartqa")
    parse = get_metric("chartqa").parse
    assert parse(it, "The bar shows 47 percent, so the answer is 47.") == "47"
    assert parse(item("Yes", "chartqa"), "Yes") == "Yes"
