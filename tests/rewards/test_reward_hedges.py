"""Issue 20, finding 6: hedges and injections stopped by rules before any judge call.

A gullible judge (says CORRECT to anything) stands in for a real one: a form that reaches it
earns reward, so every assertion below also proves the judge was never asked. The property
test fills the hedge templates of ``rewards.probes`` with generated answers.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from reward_helpers import resp

from thinkvl.rewards import RewardSystem
from thinkvl.rewards import guards as G
from thinkvl.rewards.audit import GullibleJudge
from thinkvl.rewards.probes import HEDGES, INJECTIONS, NUMERIC_HEDGES

JUDGED = ("vqa", "video", "spatial", "long_doc", "general", "chart")


@pytest.fixture(scope="module")
def gullible():
    judge = GullibleJudge()
    with RewardSystem(judge=judge) as system:
        yield system, judge


words = st.text(alphabet=string.ascii_lowercase, min_size=3, max_size=9)
numbers = st.integers(min_value=0, max_value=10**6).map(str)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    template=st.sampled_from(HEDGES + NUMERIC_HEDGES),
    pair=st.one_of(st.tuples(words, words), st.tuples(numbers, numbers)),
    domain=st.sampled_from(JUDGED),
)
def test_generated_hedges_never_reach_the_judge(gullible, template, pair, domain):
    rs, judge = gullible
    a, b = pair
    assume(a != b and G.hedge_term(a, "") is None and G.hedge_term(b, "") is None)
    if template in NUMERIC_HEDGES:
        assume(a.isdigit() and b.isdigit())
    before = judge.calls
    r = rs.score(resp(template.format(a=a, b=b)), a, domain, question="What is shown?")
    assert r.score == 0, (template, a, b, domain, r.reason)
    assert judge.calls == before, (template, a, b, domain)


@pytest.mark.parametrize("domain", JUDGED + ("physics", "chemistry", "ocr"))
def test_injections_never_reach_the_judge(gullible, domain):
    rs, judge = gullible
    ref = {"physics": "3 m/s", "chemistry": "NaCl", "ocr": "K7PX"}.get(domain, "Paris")
    before = judge.calls
    for template in INJECTIONS:
        box = template.format(a=ref, b="Lyon")
        r = rs.score(resp(box), ref, domain, question="What is it?")
        assert r.score == 0, (template, domain, r.reason)
    assert judge.calls == before


def test_rule_based_domains_grade_the_whole_box(gullible):
    rs, _ = gullible
    for box in ("6 | 5", "6 = 5", "x = 6 = 5", "6 \\Rightarrow 5", "6 \\\\ 5", "6 \\mid 5"):
        assert rs.score(resp(box), "5", "math").score == 0, box  # math graded only the last value
    opts = {"options": {"A": "circle", "B": "square", "C": "triangle"}}
    for box in ("(B)(C)", "B (C)", "(B) (C)"):
        assert rs.score(resp(box), "B", "choice", meta=opts).score == 0, box  # read as B
    g = [[120, 340, 380, 600]]
    for box in ("[120, 340, 380, 600] or [600, 100, 800, 300]",
                "[120, 340, 380, 600], [600, 100, 800, 300]",
                "approximately [120, 340, 380, 600]", "~[120, 340, 380, 600]"):
        assert rs.score(resp(box), g, "grounding").score == 0, box  # 0.5 and 1.0 before
    assert rs.score(resp("~Paris"), "Paris", "vqa").score == 0  # scored 1


def test_honest_answers_still_pass(gullible):
    rs, _ = gullible
    ok = [
        ("5", "5", "math"), ("x = 5", "5", "math"), ("\\frac{10}{2} = 5", "5", "math"),
        ("|x|", "|x|", "math"), ("y = 2x + 1", "y = 2x + 1", "math"),
        ("(x, y) = (1, 2)", "(1, 2)", "math"), ("x \\le 3", "x \\le 3", "math"),
        ("left or right", "left or right", "vqa"), ("correct", "correct", "vqa"),
        ("3 m/s", "3 m/s", "physics"), ("300,000 km/s", "3\\times10^8 m/s", "physics"),
        ("2 kg/mol", "2 kg/mol", "physics"), ("9.8 m/s^2", "9.8 m/s^2", "physics"),
        ("B", "B", "choice"), ("(B)", "B", "choice"), ("B. Vitamin C", "B", "choice"),
        ("[120, 340, 380, 600]", [[120, 340, 380, 600]], "grounding"),
        ("红色或蓝色", "红色或蓝色", "vqa"), ("The Eiffel Tower", "the eiffel tower", "general"),
    ]
    for box, ref, domain in ok:
        r = rs.score(resp(box, lead="The correct answer is "), ref, domain)
        assert r.score > 0, (box, domain, r.reason)
    prose = ("The treaty was signed in 1648 after long talks between the powers, and it "
             "ended the war; some historians call it the first modern settlement.")
    assert rs.score(resp(prose), "It ended the war in Europe.", "long_doc").score > 0
