"""MathVista's answer-type/precision normalisation, We-Math's four dimensions and DynaMath's
worst case."""

import pytest
from metrickit import S, item, score

from thinkvl.eval.benchmarks import CHOICE
from thinkvl.eval.metrics import get_metric

# -- MathVista -----------------------------------------------------------------------------------

@pytest.mark.parametrize("gold, meta, pred, ok", [
    ("3", {"answer_type": "integer"}, "3.7", True),  # str(int(float(x))) truncates
    ("4", {"answer_type": "integer"}, "3.7", False),
    ("1.5", {"answer_type": "float", "precision": 1.0}, "1.54", True),
    ("1.5", {"answer_type": "float", "precision": 1.0}, "1.56", False),
    ("1.45", {"answer_type": "float", "precision": 2.0, "unit": "cm"}, "1.45 cm", True),
    ("[1, 2]", {"answer_type": "list"}, "[1, 2]", True),
    ("1200", {"answer_type": "integer"}, "1,200", True),
])
def test_mathvista_normalisation(gold, meta, pred, ok):
    assert score(item(gold, "mathvista", **meta), pred).correct is ok


def test_mathvista_choices_by_letter_or_text():
    it = item("B", "mathvista", CHOICE, choices=["cat", "dog"], answer_type="text")
    assert score(it, "dog").correct and score(it, "(B) dog").correct
    assert not score(it, "A").correct


# -- We-Math, DynaMath, choice sets --------------------------------------------------------------

def test_wemath_four_dimensions():
    def step(pid, key, ok):
        return item("A", "wemath", CHOICE, key=key, problem_id=pid), S(ok)
    pairs = [step(1, "2steps_1", True), step(1, "2steps_2", True), step(1, "2steps_multi", True),
             step(2, "2steps_1", True), step(2, "2steps_2", True), step(2, "2steps_multi", False),
             step(3, "2steps_1", False), step(3, "2steps_2", True), step(3, "2steps_multi", False),
             step(4, "2steps_1", False), step(4, "2steps_2", False), step(4, "2steps_multi", True),
             step(5, "1step", True)]
    got = get_metric("wemath").aggregate(pairs)
    assert got["problems"] == 4
    assert (got["CM_strict"], got["IG"], got["IK"]) == (0.25, 0.25, 0.25)
    assert got["RM_strict"] == 0.5  # RM / (CM + RM)
    assert got["score_strict"] == pytest.approx(1 - (0.5 * 1 + 1 + 1) / 4)
    assert got["CM_loose"] == 0.25 and got["RM_loose"] == 0.5


def test_dynamath_worst_case():
    def var(seed, ok):
        return item("2.5", "dynamath", answer_type="float", seed=seed), S(ok)
    got = get_metric("dynamath").aggregate([var("1", True), var("1", True), var("2", True),
                                            var("2", False)])
    assert got["average_case"] == 0.75 and got["worst_case"] == 0.5
    f = item("2.5", "dynamath", answer_type="float")
    assert score(f, "2.5004").correct and not score(f, "2.502").correct
