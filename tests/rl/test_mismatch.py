"""Sampler-trainer mismatch statistics and truncated importance sampling (rl.mismatch)."""

import math

import pytest
import torch

from thinkvl.rl.loss import policy_loss
from thinkvl.rl.mismatch import MismatchSums, log, row_stats, sampler_matrix, tis_weights


def test_sampler_matrix_aligns_columns_and_marks_unknown():
    m = sampler_matrix([[-1.0, None, -2.0], None], (2, 4))
    assert m[0, 0] == -1.0 and m[0, 2] == -2.0
    assert torch.isnan(m[0, 1]) and torch.isnan(m[0, 3]) and torch.isnan(m[1]).all()


def test_row_stats_and_domain_means():
    trainer = torch.tensor([[-1.0, -2.0, -3.0], [-1.0, -1.0, -1.0]])
    sampler = torch.tensor([[-1.5, float("nan"), -3.0], [-1.0, -2.0, -1.0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    st = row_stats(trainer, sampler, mask).tolist()
    k3 = math.exp(0.5) - 1 - 0.5
    assert st[0] == pytest.approx([0.5, k3, 2.0])  # the unknown token is left out
    assert st[1] == pytest.approx([1.0, math.exp(1.0) - 2.0, 2.0])  # the masked one too
    sums = MismatchSums()
    sums.add(trainer, sampler, mask, ["a", "b"])
    out = sums.means()
    assert out["a"]["logp_abs_diff"] == pytest.approx(0.25) and out["a"]["tokens"] == 2
    assert out["b"]["kl"] == pytest.approx((math.exp(1.0) - 2.0) / 2)
    metrics = {"domains": {"a": {"reward": 1.0}}}
    log(metrics, sums, ["b", "a", "a"])
    assert metrics["domains"]["a"]["reward"] == 1.0  # added to, not replaced
    assert metrics["domains"]["b"]["mismatch_kl"] == pytest.approx((math.exp(1.0) - 2.0) / 2)
    assert metrics["mismatch"]["tokens"] == 4 and metrics["mismatch"]["logp_abs_diff"] == pytest.approx(1.5 / 4)


def test_tis_weights_are_truncated_ratios_and_one_where_unknown():
    old = torch.tensor([[0.0, 0.0, -1.0]])
    sampler = torch.tensor([[-1.0, float("nan"), 0.0]])
    w = tis_weights(old, sampler, cap=2.0)
    assert w.tolist()[0] == pytest.approx([2.0, 1.0, math.exp(-1.0)])  # e^1 capped at 2


def test_token_weights_scale_the_loss_and_carry_no_gradient():
    logp = torch.tensor([[-1.0, -2.0]], requires_grad=True)
    mask = torch.ones(1, 2, dtype=torch.bool)
    adv = torch.tensor([1.0])
    plain = policy_loss(logp, logp.detach(), adv, mask).loss
    w = torch.tensor([[2.0, 2.0]], requires_grad=True)
    weighted = policy_loss(logp, logp.detach(), adv, mask, token_weights=w).loss
    assert float(weighted) == pytest.approx(2 * float(plain))
    weighted.backward()
    assert w.grad is None and logp.grad is not None


def test_importance_correction_needs_the_vllm_engine(tmp_path):
    from thinkvl.config import build_config
    from thinkvl.rl.config import RLConfig

    with pytest.raises(Exception, match="rollout.engine=vllm"):
        build_config(RLConfig, {"model": "m", "data": {"train": "t"}}, ["rl.importance_correction=tis"])


def test_vllm_context_must_hold_the_budgets():
    from thinkvl.config import build_config
    from thinkvl.rl.config import RLConfig

    with pytest.raises(Exception, match="rollout.max_model_len"):
        build_config(RLConfig, {"model": "m", "data": {"train": "t"}},
                     ["rollout.engine=vllm", "rollout.max_model_len=70"])


def test_a_domain_with_one_known_token_has_means_and_one_with_none_is_left_out():
    sums = MismatchSums()
    trainer = torch.tensor([[-1.0, -2.0], [-1.0, -1.0]])
    sampler = torch.tensor([[-1.5, float("nan")], [float("nan"), float("nan")]])
    sums.add(trainer, sampler, torch.ones(2, 2, dtype=torch.bool), ["one", "none"])
    assert sums.means() == {"one": {"logp_abs_diff": pytest.approx(0.5),
                                    "kl": pytest.approx(math.exp(0.5) - 1.5), "tokens": 1}}
