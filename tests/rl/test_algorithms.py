"""Hand-computed checks of GRPO advantages, the clipped loss, EMA expansion and group selection."""

import math

import pytest
import torch

from thinkvl.rl.advantage import get_estimator, grpo, mean_only
from thinkvl.rl.dynamic import (
    ExpansionEMA,
    balance,
    expansion_factor,
    group_has_signal,
    select_groups,
)
from thinkvl.rl.loss import (
    POLICY_LOSSES,
    clipped_token_loss,
    get_policy_loss,
    kl_k3,
    policy_loss,
    register_policy_loss,
)


def test_grpo_advantage_by_hand():
    # rewards 1, 0, 0, 1 -> mean 0.5, population std 0.5 -> ±1
    adv = grpo([1.0, 0.0, 0.0, 1.0])
    assert adv == pytest.approx([1.0, -1.0, -1.0, 1.0], abs=1e-5)
    # 1, 0, 0, 0 -> mean .25, std sqrt(3)/4 -> 0.75/0.4330 = 1.732, -0.25/0.4330 = -0.577
    adv = grpo([1.0, 0.0, 0.0, 0.0])
    assert adv == pytest.approx([math.sqrt(3), -1 / math.sqrt(3), -1 / math.sqrt(3), -1 / math.sqrt(3)], abs=1e-4)


def test_missing_rewards_are_excluded_not_zero():
    adv = grpo([1.0, None, 0.0])
    assert adv[1] is None and adv[0] == pytest.approx(1.0, abs=1e-5) and adv[2] == pytest.approx(-1.0, abs=1e-5)
    assert grpo([None, None]) == [None, None]
    out = mean_only([1.0, 0.0, None, 0.0])
    assert out[2] is None and [out[0], out[1], out[3]] == pytest.approx([2 / 3, -1 / 3, -1 / 3])
    assert get_estimator("grpo") is grpo
    with pytest.raises(ValueError, match="unknown advantage"):
        get_estimator("ppo-gae")


def test_identical_rewards_give_zero_advantage():
    assert grpo([0.5, 0.5, 0.5]) == pytest.approx([0.0, 0.0, 0.0])


@pytest.mark.parametrize("estimator", [grpo, mean_only])
@pytest.mark.parametrize("value", [0.1, 0.7, 1 / 3, 0.123456789, 1.0, 0.0])
def test_identical_non_binary_rewards_give_exactly_zero(estimator, value):
    # the group's mean rounds (3 x 0.1 averages to 0.10000000000000002): without the no-signal
    # check (r - mean) / (std + eps) came out ~1e-11, a non-zero advantage that was trained on
    for n in (3, 4, 7, 8):
        assert estimator([value] * n) == [0.0] * n
    assert estimator([value, None, value]) == [0.0, None, 0.0]  # missing ones stay missing


def test_clip_higher_bounds_by_hand():
    # ratio = e^(logp-old); positive advantage clips at 1.28, negative at 0.8
    old = torch.zeros(4)
    logp = torch.log(torch.tensor([1.5, 1.1, 0.5, 0.9]))
    adv = torch.tensor([1.0, 1.0, -1.0, -1.0])
    loss, clipped = clipped_token_loss(logp, old, adv, 0.2, 0.28)
    # token 0: min(1.5, 1.28) = 1.28 -> loss -1.28 (clipped); token 1: 1.1 -> -1.1
    # token 2: A<0: min(-0.5, -0.8) = -0.8 -> loss 0.8 (clipped); token 3: min(-0.9, -0.9) -> 0.9
    assert loss.tolist() == pytest.approx([-1.28, -1.1, 0.8, 0.9], abs=1e-5)
    assert clipped.tolist() == [True, False, True, False]


def test_each_bound_clips_its_own_side_in_the_loss_and_the_counts():
    """Ratios between the two bounds tell ε_low from ε_high: 1.25 is inside 1 + 0.28 but outside
    1 + 0.2; 0.75 is outside 1 − 0.2 but inside 1 − 0.28. Swapped bounds flip every row here."""
    ratios = torch.tensor([[1.25, 0.75, 1.25, 0.75, 1.35]])
    logp, old = torch.log(ratios), torch.zeros(1, 5)
    mask = torch.ones(1, 5)
    grads = {}
    for sign in (1.0, -1.0):
        theta = logp.clone().requires_grad_(True)
        out = policy_loss(theta, old, torch.tensor([sign]), mask, clip_low=0.2, clip_high=0.28,
                          normalization="token")
        grads[sign], = torch.autograd.grad(out.loss, theta)
        if sign > 0:  # A > 0: only the upper bound can hold, at 1.28: only the 1.35 token
            assert float(out.loss.detach()) == pytest.approx(-(1.25 + 0.75 + 1.25 + 0.75 + 1.28) / 5, abs=1e-6)
            assert (float(out.clipped_high), float(out.clipped_low)) == (1.0, 0.0)
        else:  # A < 0: only the lower bound can hold, at 0.8: both 0.75 tokens
            assert float(out.loss.detach()) == pytest.approx((1.25 + 0.8 + 1.25 + 0.8 + 1.35) / 5, abs=1e-6)
            assert (float(out.clipped_high), float(out.clipped_low)) == (0.0, 2.0)
        assert float(out.tokens) == 5
        assert float(out.ratio_deviation) == pytest.approx(0.25 * 4 + 0.35, abs=1e-6)
    # no gradient exactly where a bound held
    assert (grads[1.0] == 0).tolist() == [[False, False, False, False, True]]
    assert (grads[-1.0] == 0).tolist() == [[False, True, False, True, False]]


def test_policy_losses_are_chosen_by_name_from_the_registry():
    assert get_policy_loss("clipped") is clipped_token_loss
    with pytest.raises(ValueError, match="unknown policy loss 'ppo-kl'"):
        get_policy_loss("ppo-kl")

    @register_policy_loss("test_unclipped")
    def unclipped(logp, old_logp, adv, clip_low, clip_high):
        return -torch.exp(logp - old_logp) * adv, torch.zeros_like(logp, dtype=torch.bool)

    try:
        logp = torch.log(torch.tensor([[2.0, 0.5]]))
        out = policy_loss(logp, torch.zeros(1, 2), torch.tensor([1.0]), torch.ones(1, 2), loss="test_unclipped")
        assert float(out.loss) == pytest.approx(-(2.0 + 0.5) / 2)
        assert float(out.clipped_high) == 0.0
    finally:
        del POLICY_LOSSES["test_unclipped"]


def test_sample_vs_token_normalisation_by_hand():
    # ratio 1 everywhere: token loss = -A. Sample 0 has 1 token (A=2), sample 1 has 3 tokens (A=-1).
    logp = torch.zeros(2, 3)
    mask = torch.tensor([[1, 0, 0], [1, 1, 1]])
    adv = torch.tensor([2.0, -1.0])
    per_sample = policy_loss(logp, logp, adv, mask, normalization="sample").loss
    per_token = policy_loss(logp, logp, adv, mask, normalization="token").loss
    assert float(per_sample) == pytest.approx((-2.0 + 1.0) / 2)  # mean of sample means
    assert float(per_token) == pytest.approx((-2.0 + 3.0) / 4)  # sum over tokens / 4 tokens
    with pytest.raises(ValueError, match="normalization"):
        policy_loss(logp, logp, adv, mask, normalization="seq")


@pytest.mark.parametrize("normalization", ["sample", "token"])
def test_micro_batches_accumulate_to_the_full_batch_gradient(normalization):
    torch.manual_seed(0)
    theta = torch.randn(4, 5, requires_grad=True)
    old = torch.randn(4, 5) * 0.1
    adv = torch.tensor([1.0, -0.5, 0.3, -2.0])
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0]])
    full = policy_loss(theta, old, adv, mask, normalization=normalization).loss
    g_full, = torch.autograd.grad(full, theta)
    total_tokens = int(mask.sum())
    acc = torch.zeros_like(theta)
    for rows in ([0, 1], [2], [3]):
        part = policy_loss(theta[rows], old[rows], adv[rows], mask[rows], normalization=normalization,
                           total_samples=4, total_tokens=total_tokens).loss
        g, = torch.autograd.grad(part, theta)
        acc += g
    assert torch.allclose(acc, g_full, atol=1e-6)


def test_kl_k3_by_hand():
    assert float(kl_k3(torch.tensor(0.3), torch.tensor(0.3))) == pytest.approx(0.0)
    # logp = log 0.5, ref = log 0.25: delta = -log 2 -> 0.5 + log 2 - 1
    assert float(kl_k3(torch.tensor(0.5).log(), torch.tensor(0.25).log())) == pytest.approx(0.5 + math.log(2) - 1)


def test_expansion_factor_and_ema_by_hand():
    assert expansion_factor(0.5, 4.0) == pytest.approx(2.0)
    assert expansion_factor(0.9, 4.0) == 4.0 and expansion_factor(1.0, 4.0) == 4.0
    ema = ExpansionEMA(decay=0.9, max_expansion=4.0)
    assert ema.prompts_to_draw(16) == 16  # nothing observed yet
    assert ema.update(0.5) == pytest.approx(2.0)  # the first factor seeds the EMA (not 0.9 x 1 + 0.1 x 2)
    assert ema.prompts_to_draw(16) == 32
    assert ema.update(0.75) == pytest.approx(0.9 * 2.0 + 0.1 * 4.0)  # 2.2
    assert ema.prompts_to_draw(16) == math.ceil(16 * 2.2)  # 36
    state = ema.state_dict()
    other = ExpansionEMA()
    other.load_state_dict(state)
    assert other.value == pytest.approx(2.2) and other.update(0.0) == pytest.approx(0.9 * 2.2 + 0.1)


def test_a_configured_initial_expansion_is_the_first_draw_and_a_prior():
    ema = ExpansionEMA(decay=0.9, max_expansion=4.0, initial=1.5)
    assert ema.prompts_to_draw(16) == 24
    assert ema.update(0.5) == pytest.approx(0.9 * 1.5 + 0.1 * 2.0)
    assert ExpansionEMA(initial=1.0).update(0.5) == pytest.approx(0.9 + 0.1 * 2.0)  # the old behaviour
    with pytest.raises(ValueError, match="initial expansion"):
        ExpansionEMA(max_expansion=4.0, initial=5.0)


def test_expansion_ema_reads_older_checkpoints():
    other = ExpansionEMA(decay=0.5)
    other.load_state_dict({"value": 2.5, "last_invalid_rate": 0.3})  # an older checkpoint's state
    assert other.value == 2.5 and other.state_dict() == {"value": 2.5, "observed": True}
    assert other.update(0.0) == pytest.approx(0.5 * 2.5 + 0.5 * 1.0)  # averaged in, not re-seeded


def test_group_selection_prefers_balanced_groups():
    groups = [
        [True, True, True, True],      # no signal
        [True, False, False, False],   # balance 0.5
        [True, True, False, False],    # balance 1.0
        [False, False, False, False],  # no signal
        [True, True, True, False],     # balance 0.5
        [True, None, False, None],     # balance 1.0 (missing ignored)
    ]
    assert not group_has_signal(groups[0]) and group_has_signal(groups[5])
    assert balance(groups[1]) == pytest.approx(0.5)
    assert select_groups(groups, keep=2) == [2, 5]
    assert select_groups(groups, keep=3) == [1, 2, 5]  # tie at 0.5 broken by order
    assert select_groups(groups, keep=10) == [1, 2, 4, 5]


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_actor_lr_schedule_warms_up_then_decays(schedule):
    from thinkvl.rl.actor import Actor
    from thinkvl.runtime.optim import OptimConfig

    actor = Actor(torch.nn.Linear(2, 2), pad_id=0, total_steps=6,
                  optim=OptimConfig(lr=1e-4, warmup_steps=2, schedule=schedule, min_lr_ratio=0.1))
    lrs = []
    for _ in range(6):
        lrs.append(actor.scheduler.get_last_lr()[0])
        actor.optimizer.step()
        actor.scheduler.step()
    assert lrs[:2] == pytest.approx([5e-5, 1e-4])  # linear warm-up over 2 steps
    if schedule == "constant":
        assert lrs[2:] == pytest.approx([1e-4] * 4)
    else:  # cosine from 1e-4 at the end of warm-up towards 1e-5 at step 6
        assert lrs[2] == pytest.approx(1e-4)
        assert lrs[2] > lrs[3] > lrs[4] > lrs[5] > 1e-5
        assert lrs[4] == pytest.approx(1e-5 + 0.9e-4 * 0.5)  # half-way: the cosine's midpoint
