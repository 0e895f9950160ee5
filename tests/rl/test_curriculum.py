import numpy as np
import pytest

from thinkvl.rl.curriculum import Curriculum, CurriculumSettings, tier_of


def make(offline, domains=None, **kw):
    ids = [f"p{i}" for i in range(len(offline))]
    return Curriculum(ids, domains or ["math"] * len(ids), offline, CurriculumSettings(**kw), seed=0)


def test_tiers_from_pass_rates():
    assert [tier_of(p) for p in (1.0, 0.8, 0.5, 0.2, 0.0, None)] == \
        ["very_easy", "easy", "medium", "hard", "very_hard", "unseen"]


def test_tier_reweighting_by_hand():
    cur = make([1.0, 0.5, 0.0, None])
    # default weights: very_easy .1, medium 1, very_hard .15, unseen 1
    assert cur.weights(np.arange(4)).tolist() == pytest.approx([0.1, 1.0, 0.15, 1.0])
    draws = [cur.sample(1)[0] for _ in range(4000)]
    share = {p: draws.count(p) / len(draws) for p in ("p0", "p1", "p2", "p3")}
    assert share["p1"] == pytest.approx(1.0 / 2.25, abs=0.03)
    assert share["p0"] == pytest.approx(0.1 / 2.25, abs=0.02)


def test_online_ema_moves_prompts_between_tiers():
    cur = make([None, None], pass_ema=0.5)
    cur.update("p0", 1.0)
    assert cur.pass_rate[0] == 1.0  # first observation is taken as is
    cur.update("p0", 0.0)
    assert cur.pass_rate[0] == 0.5 and cur.tiers(np.array([0])) == ["medium"]
    cur.update("p0", 0.0)
    assert cur.pass_rate[0] == 0.25 and cur.tiers(np.array([0])) == ["hard"]


def test_pass_ema_weighs_the_old_estimate_by_pass_ema():
    cur = make([1.0, None], pass_ema=0.8)
    cur.update("p0", 0.0)  # 0.8 × old 1.0 + 0.2 × new 0.0
    assert cur.pass_rate[0] == pytest.approx(0.8) and cur.tiers(np.array([0])) == ["easy"]
    cur.update("p0", 0.5)
    assert cur.pass_rate[0] == pytest.approx(0.8 * 0.8 + 0.2 * 0.5)


def test_domain_quotas_follow_the_mix():
    cur = make([None] * 6, domains=["math"] * 3 + ["ocr"] * 3, domain_mix={"math": 3, "ocr": 1})
    assert cur.quotas(8) == {"math": 6, "ocr": 2}
    ids = cur.sample(8)
    assert sum(i in ("p0", "p1", "p2") for i in ids) == 6
    with pytest.raises(ValueError, match="no prompts"):
        make([None], domain_mix={"chart": 1.0})


def test_uniform_mode_ignores_tiers():
    cur = make([1.0, 0.0], enabled=False)
    assert cur.weights(np.arange(2)).tolist() == [1.0, 1.0]


def test_state_round_trip_reproduces_draws():
    cur = make([None, 0.5, 0.9, 0.1])
    cur.sample(3)
    state = cur.state_dict()
    expected = cur.sample(5)
    other = make([None, 0.5, 0.9, 0.1])
    other.load_state_dict(state)
    assert other.sample(5) == expected
    with pytest.raises(ValueError, match="different prompt set"):
        make([None]).load_state_dict(state)


def test_first_per_domain_keeps_file_order_and_limits_each_domain():
    from thinkvl.eval.heldout import first_per_domain

    items = [{"domain": d, "i": i} for i, d in enumerate("aabacbbca")]
    got = first_per_domain(items, 2, lambda x: x["domain"])
    assert [x["i"] for x in got] == [0, 1, 2, 4, 5, 7]
    assert first_per_domain(items, None, lambda x: x["domain"]) == items
    with pytest.raises(ValueError, match="at least 1"):
        first_per_domain(items, 0, lambda x: x["domain"])
