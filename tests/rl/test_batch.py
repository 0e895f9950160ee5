"""The group-shaped step data (``rl.batch``): which groups each rank keeps, how a rank's samples
are cut into mini-batches, and each mini-batch's counts over all ranks — pure functions and
hand-built batches, no model."""

import pytest

from thinkvl.model.generate import Completion
from thinkvl.model.inputs import IGNORE, Encoded
from thinkvl.rewards.result import RewardResult
from thinkvl.rl.advantage import grpo
from thinkvl.rl.batch import (
    Group,
    MiniBatch,
    StepBatch,
    cut_points,
    kept_by_rank,
    reward_items,
    score_groups,
    split,
)
from thinkvl.rl.data import Prompt

THINK_CLOSE = 99


def test_kept_by_rank_applies_each_ranks_offset():
    # groups are numbered in rank order: rank 0 holds 0-2, rank 1 holds 3-4, rank 2 holds 5-8
    assert kept_by_rank([3, 2, 4], {0, 2, 3, 7, 8}) == [[0, 2], [0], [2, 3]]
    assert kept_by_rank([3, 2, 4], set()) == [[], [], []]
    assert kept_by_rank([2, 2], [2, 3]) == [[], [0, 1]]  # everything kept on the last rank
    assert kept_by_rank([0, 3], [1]) == [[], [1]]  # a rank without groups
    assert kept_by_rank([5], [4, 1]) == [[1, 4]]  # one process: local = global
    with pytest.raises(ValueError, match=r"kept groups \[5\] do not exist"):
        kept_by_rank([3, 2], [5])


def test_cut_points_keep_groups_whole_when_there_are_enough():
    groups = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3]  # sizes 3, 2, 4, 1
    assert cut_points(groups, 1) == [0, 10]
    assert cut_points(groups, 2) == [0, 5, 10]  # the boundary nearest 5
    assert cut_points(groups, 3) == [0, 3, 5, 10]  # nearest 3.33 is 3; then nearest 6.67 after 3 is 5
    assert cut_points(groups, 4) == [0, 3, 5, 9, 10]  # one group each
    assert cut_points([7, 7, 7, 7, 8, 8], 2) == [0, 4, 6]
    assert cut_points([0, 0, 1, 1], 2) == [0, 2, 4]


def test_cut_points_split_samples_when_groups_are_too_few():
    assert cut_points([0, 0, 0, 0, 1, 1], 3) == [0, 2, 4, 6]  # 2 groups for 3 mini-batches
    assert cut_points([5, 5, 5], 2) == [0, 1, 3]
    assert cut_points([4], 3) == [0, 0, 0, 1]  # fewer samples than mini-batches: some empty
    assert cut_points([], 2) == [0, 0, 0]
    with pytest.raises(ValueError, match="at least 1"):
        cut_points([0], 0)


def _sample(prompt_tokens, completion_len, trained=None):
    trained = completion_len if trained is None else trained
    ids = list(prompt_tokens) + [50 + i for i in range(completion_len)]
    labels = [IGNORE] * len(prompt_tokens) + ids[len(prompt_tokens):][:trained] + \
        [IGNORE] * (completion_len - trained)
    return Encoded(input_ids=ids, labels=labels, token_fields=[0] * len(ids), prompt_len=len(prompt_tokens))


def test_split_counts_each_mini_batch_and_checks_shapes():
    samples = [_sample([1, 2], n) for n in (3, 1, 2, 4)]
    parts = split(samples, [1.0, -1.0, 0.5, -0.5], [0, 0, 1, 1], k=2)
    assert [(mb.groups, mb.total_samples, mb.total_tokens) for mb in parts] == [([0, 0], 2, 4), ([1, 1], 2, 6)]
    assert [len(mb.samples) for mb in split(samples, [1.0] * 4, k=3)] == [1, 2, 1]  # each sample its own group
    with pytest.raises(ValueError, match="one advantage and one group per sample"):
        MiniBatch(samples, [1.0], [0, 0, 1, 1], 4, 10)


def _result(correct, missing=False):
    return RewardResult(score=float(correct), correct=correct, extracted="3", verifier="count", reason="",
                        missing=missing)


def _group(pid, correct, lengths=None, rank_tag=0):
    """A prompt's group with hand-set correctness (rewards 1/0) and completion lengths."""
    prompt = Prompt(id=pid, domain="counting", messages=[{"role": "user", "content": f"q {pid}"}], answer=3)
    lengths = lengths or [2] * len(correct)
    tokens = [10 + rank_tag, len(pid)]
    completions = [Completion(text=f"{pid}-{i}", token_ids=[60] * n, sample=_sample(tokens, n))
                   for i, n in enumerate(lengths)]
    return Group(prompt, completions, [_result(c, missing=c is None) if c is not None else _result(False, True)
                                       for c in correct])


class FakeRewards:
    def __init__(self):
        self.calls = []

    def score_batch(self, items):
        self.calls.append(items)
        return [_result(item["response"].endswith("-0")) for item in items]


def test_reward_items_and_one_batched_scoring_call():
    g1, g2 = _group("a", [True, False]), _group("b", [True, True, False])
    g2.completions[1].truncated = True
    g2.prompt.meta = {"unit": "cm"}
    rewards = FakeRewards()
    score_groups(rewards, [g1, g2])
    assert len(rewards.calls) == 1 and len(rewards.calls[0]) == 5
    assert [r.correct for r in g1.results] == [True, False] and [r.correct for r in g2.results] == [True, False, False]
    item = reward_items(g2.prompt, g2.completions)[1]
    assert item == {"response": "b-1", "answer": 3, "domain": "counting", "question": "q b",
                    "meta": {"unit": "cm", "truncated": True}}


def test_step_batch_keeps_scores_and_cuts_on_one_process():
    groups = [_group("a", [True, True]), _group("b", [True, False, False, True], lengths=[1, 2, 3, 4]),
              _group("c", [False, None, True, True])]
    batch = StepBatch.gather(groups, THINK_CLOSE)
    assert [o.index for o in batch.outcomes] == [0, 1, 2] and batch.rank_sizes == [3]
    assert [r.group for r in batch.rollouts] == [0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    assert batch.no_signal_rate() == pytest.approx(1 / 3)
    assert [o.accuracy for o in batch.outcomes] == [1.0, 0.5, pytest.approx(2 / 3)]
    batch.keep([1, 2])
    batch.assign_advantages(grpo)
    assert [g.kept for g in groups] == [False, True, True]
    assert groups[0].advantages == [None, None]
    assert groups[1].advantages == pytest.approx([1.0, -1.0, -1.0, 1.0], abs=1e-5)
    assert groups[2].advantages[1] is None  # a missing judgement gets no advantage
    assert [r.kept for r in batch.rollouts] == [False] * 2 + [True] * 8
    one = batch.mini_batches(1)
    assert len(one) == 1 and one[0].groups == [1, 1, 1, 1, 2, 2, 2]  # missing one left out
    assert one[0].total_samples == 7 and one[0].total_tokens == 10 + 3 * 2
    two = batch.mini_batches(2)
    assert [mb.groups for mb in two] == [[1, 1, 1, 1], [2, 2, 2]]
    assert [(mb.total_samples, mb.total_tokens) for mb in two] == [(4, 10), (3, 6)]
    assert two[0].samples[2] is groups[1].completions[2].sample
    batch.keep([0])  # as with dynamic sampling off: an all-correct group, advantages 0, trains nothing
    batch.assign_advantages(grpo)
    assert groups[0].advantages == [0.0, 0.0] and batch.mini_batches(1)[0].total_samples == 7


def _outcomes_batch(per_rank_groups, rank):
    """A StepBatch as rank ``rank`` sees it after the gather, built by hand (no process group)."""
    outcomes, sizes = [], []
    for r, groups in enumerate(per_rank_groups):
        sizes.append(len(groups))
        for g in groups:
            outcomes.append(g.describe(THINK_CLOSE))
    for i, o in enumerate(outcomes):
        o.index = i
    offset = sum(sizes[:rank])
    mine = per_rank_groups[rank]
    for i, g in enumerate(mine):
        g.outcome = outcomes[offset + i]
    return StepBatch(mine, outcomes, sizes, rank)


def test_mini_batch_counts_cover_every_rank_and_empty_shares_become_fillers():
    def groups():  # rank 0: two groups with signal; rank 1: one all-correct and one with signal
        return [[_group("a", [True, False], [3, 1]), _group("b", [False, True], [2, 2])],
                [_group("c", [True, True], [5, 5], rank_tag=1), _group("d", [True, False, False, False],
                                                                       [1, 1, 1, 1], rank_tag=1)]]

    views = []
    for rank in (0, 1):
        per_rank = groups()
        batch = _outcomes_batch(per_rank, rank)
        batch.keep([0, 1, 3])
        batch.assign_advantages(grpo)
        assert [len(batch.rows(r)) for r in (0, 1)] == [4, 4]
        views.append((per_rank, batch.mini_batches(2)))
    (_, mb0), (g1, mb1) = views
    # rank 0 cuts between its groups a | b; rank 1 has one kept group of 4: split 2 | 2
    assert [mb.groups for mb in mb0] == [[0, 0], [1, 1]] and [mb.groups for mb in mb1] == [[3, 3], [3, 3]]
    # each mini-batch's counts are over both ranks, and the same on both
    assert [(mb.total_samples, mb.total_tokens) for mb in mb0] == [(4, 4 + 2), (4, 4 + 2)]
    assert [(mb.total_samples, mb.total_tokens) for mb in mb1] == [(4, 6), (4, 6)]
    assert mb1[1].samples == [g1[1][1].completions[2].sample, g1[1][1].completions[3].sample]

    # rank 0 keeps only group a (2 samples), rank 1 group d (4): with 3 mini-batches rank 0 has
    # nothing for the first -> a zero-weight filler that still counts rank 1's sample
    per_rank = groups()
    batch = _outcomes_batch(per_rank, 0)
    batch.keep([0, 3])
    batch.assign_advantages(grpo)
    three = batch.mini_batches(3)
    assert [mb.filler for mb in three] == [True, False, False]
    assert three[0].advantages == [0.0] and (three[0].total_samples, three[0].total_tokens) == (1, 1)
    assert [(mb.total_samples, mb.total_tokens) for mb in three[1:]] == [(2, 3 + 1), (3, 1 + 2)]
    # mini-batches empty on every rank are dropped (on every rank alike): of 9, rank 1's 4 samples
    # fill 4, and rank 0 joins two of them with fillers
    assert [mb.filler for mb in batch.mini_batches(9)] == [True, False, True, False]


def test_a_group_of_identical_non_binary_rewards_is_neither_trained_nor_counted():
    # dynamic sampling off keeps every group; an OCR-like group scoring 0.1 everywhere has no signal
    same, useful = _group("a", [False] * 3), _group("b", [True, False, False])
    same.results = [RewardResult(score=0.1, correct=False, extracted="x", verifier="ocr", reason="")
                    for _ in range(3)]
    batch = StepBatch.gather([same, useful], THINK_CLOSE)
    batch.keep([0, 1])
    batch.assign_advantages(grpo)
    assert same.advantages == [0.0, 0.0, 0.0]
    (mb,) = batch.mini_batches(1)
    assert mb.groups == [1, 1, 1] and mb.total_samples == 3 and mb.total_tokens == 6
