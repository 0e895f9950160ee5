"""MMMU's parsers (open answers, numbers to 2 places; multiple choice without a random
fallback), MMBench circular evaluation, HallusionBench qAcc/fAcc/aAcc, letter sets."""

import pytest
from metrickit import S, item, score

from thinkvl.eval.benchmarks import CHOICE
from thinkvl.eval.metrics import get_metric
from thinkvl.eval.metrics.choice import mmmu_choice_parse, mmmu_open_correct, mmmu_open_parse

# -- MMMU ----------------------------------------------------------------------------------------

def test_mmmu_open_rules():
    assert mmmu_open_correct("6", mmmu_open_parse("There were 3 boxes with 2 each, so 6."))
    assert not mmmu_open_correct("7", mmmu_open_parse("There were 3 boxes with 2 each, so 6."))
    assert mmmu_open_correct("3.14159", mmmu_open_parse("3.144"))  # both round to 3.14
    assert not mmmu_open_correct("3.14159", mmmu_open_parse("3.146"))
    assert mmmu_open_correct("1,200", mmmu_open_parse("the total is 1200"))
    assert mmmu_open_correct(["blue", "navy"], mmmu_open_parse("The colour is navy."))
    assert mmmu_open_correct("a", mmmu_open_parse("the answer is a"))  # padded single letter
    assert not mmmu_open_correct("a", mmmu_open_parse("banana"))


def test_mmmu_multiple_choice_parser_never_guesses():
    opts = {"A": "cat", "B": "dog", "C": "bird"}
    assert mmmu_choice_parse("(B)", opts) == "B"
    assert mmmu_choice_parse("I pick B because of the ears", opts) == "B"
    assert mmmu_choice_parse("A or B", opts) == "B"  # several: the last one (published rule)
    assert mmmu_choice_parse("I think the animal shown here is a dog", opts) == "B"
    assert mmmu_choice_parse("It is a dog", opts) is None  # <= 5 words: no text matching
    assert mmmu_choice_parse("no idea at all", opts) is None  # never a random option
    mc = item("B", "mmmu", CHOICE, choices=["cat", "dog", "bird"],
              question_type="multiple-choice")
    assert score(mc, "(B) dog").correct and not score(mc, "(C) bird").correct
    bad = score(mc, "no idea")
    assert not bad.correct and "unparsable" in bad.flags


# -- MMBench, HallusionBench ---------------------------------------------------------------------

def test_mmbench_circular_needs_every_rotation():
    pairs = []
    for q, rights in (("1", [True] * 4), ("2", [True, True, False, True])):
        for k, ok in enumerate(rights):
            it = item("A", "mmbench", CHOICE, iid=f"{q}-{k}", categories={"category": "ocr"},
                      circular_group=q, rotation=k)
            pairs.append((it, S(ok)))
    got = get_metric("mmbench").aggregate(pairs)
    assert got["circular_accuracy"] == 0.5 and got["vanilla_accuracy"] == 1.0
    assert got["category/ocr"] == 0.5


def test_hallusionbench_question_and_figure_accuracy():
    def hb(cat, fig, q, ok):
        it = item("1", "hallusionbench", category=cat, subcategory="s", set_id="0",
                  figure_id=str(fig), question_id=str(q))
        return it, S(ok)
    pairs = [hb("VD", 0, 0, True), hb("VD", 0, 1, True),  # figure 0: both right
             hb("VD", 1, 0, True), hb("VD", 1, 1, False),  # figure 1: one wrong
             hb("VS", 0, 0, False), hb("VS", 1, 0, True)]  # VS figure 0 is no figure
    got = get_metric("hallusionbench").aggregate(pairs)
    assert got["aAcc"] == pytest.approx(4 / 6, abs=1e-6)
    assert got["fAcc"] == pytest.approx(2 / 3, abs=1e-6)  # VD-0 yes, VD-1 no, VS-1 yes
    assert got["qAcc"] == pytest.approx(1 / 3, abs=1e-6)  # VD q0 yes, VD q1 no, VS q0 no
    yes, no = item("1", "hallusionbench"), item("0", "hallusionbench")
    assert score(yes, "Yes, the line is longer.").correct and not score(yes, "No.").correct
    assert score(no, "No.").correct and not score(no, "Yes").correct


def test_letter_sets_must_match_exactly():
    it = item(["A", "C"], "choice", CHOICE)
    assert score(it, "A, C").correct and score(it, "C and A").correct
    assert not score(it, "A").correct and not score(it, "A, B, C").correct
