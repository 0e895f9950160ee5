"""The step's top-level reward and accuracy count missing judgements as the per-domain metrics do:
left out, never read as 0."""

import pytest

from thinkvl.rl.metrics import Rollout, domain_metrics, overall_metrics


def _rollout(domain, reward, correct, group=0):
    return Rollout(prompt_id=f"{domain}-{group}", domain=domain, response="", reward=reward, correct=correct,
                   extracted=None, flags=[], reason="", tokens=4, think_tokens=2, forced=False,
                   truncated=False, group=group)


def test_missing_judgements_are_left_out_of_the_top_level_reward_and_accuracy():
    # a judged domain whose judge failed on one rollout: 2 judged, 1 right (reward 0.8), 1 wrong
    rollouts = [_rollout("vqa", 0.8, True), _rollout("vqa", 0.0, False), _rollout("vqa", None, None)]
    top = overall_metrics(rollouts)
    per = domain_metrics(rollouts, {0: rollouts})["vqa"]
    assert top["reward"] == pytest.approx(0.4) and top["accuracy"] == pytest.approx(0.5)  # not 0.8/3, 1/3
    assert (top["reward"], top["accuracy"]) == pytest.approx((per["reward"], per["accuracy"]))
    assert top["judge_failures"] == per["judge_failures"] == 1


def test_top_level_metrics_pool_every_judged_rollout_of_every_domain():
    rollouts = [_rollout("counting", 1.0, True, 0), _rollout("counting", 0.0, False, 0),
                _rollout("vqa", None, None, 1), _rollout("vqa", None, None, 1), _rollout("vqa", 1.0, True, 1)]
    top = overall_metrics(rollouts)
    assert top == {"reward": pytest.approx(2 / 3), "accuracy": pytest.approx(2 / 3), "judge_failures": 2}
    assert overall_metrics([_rollout("vqa", None, None)]) == {"reward": 0.0, "accuracy": 0.0, "judge_failures": 1}


def test_group_kinds_are_shares_of_the_domains_groups():
    one = [_rollout("counting", 1.0, True, 0), _rollout("counting", 1.0, True, 0)]
    assert domain_metrics(one, {0: one})["counting"]["all_correct"] == 1.0  # a single group counts whole
    two = one + [_rollout("counting", 0.0, False, 1), _rollout("counting", 0.0, False, 1)]
    per = domain_metrics(two, {0: two[:2], 1: two[2:]})["counting"]
    assert (per["all_correct"], per["all_wrong"]) == (0.5, 0.5)
