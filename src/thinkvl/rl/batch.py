"""The RL step's data, shaped as the recipe thinks of it: groups.

A *group* is one prompt and its n completions, then their reward results, then (once the step
decides) whether it is kept and each completion's advantage. ``RLTrainer.step`` carries this
rank's groups (``Group``) from rollout to update. Every rank needs every group's outcome (the
curriculum, the expansion EMA and the kept set must be identical everywhere, metrics and saved
rollouts cover the whole step), so the step makes one ``all_gather_object`` of the groups'
outcomes (``GroupOutcome``: scored rollout records and trained-token counts, no tensors) and
derives everything else from that list on every rank alike: the kept groups, advantages, the
mini-batches and their normalisation counts over all ranks.

Groups are numbered in rank order (rank 0's first, as gathered); a rank's groups are one
contiguous range of that numbering. That number is a group's identity: the actor learns which
samples share a prompt from it (``MiniBatch.groups``), and it is the ``group`` field of the
saved rollouts.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from thinkvl.model.generate import Completion
from thinkvl.model.inputs import IGNORE, Encoded
from thinkvl.rl.data import Prompt
from thinkvl.rl.dynamic import group_has_signal
from thinkvl.rl.metrics import Rollout, think_length
from thinkvl.runtime.distributed import all_gather_object


def reward_items(prompt: Prompt, completions: Sequence[Completion]) -> list[dict]:
    """The reward system's items for a group's completions (training and offline grading alike)."""
    return [{"response": c.text, "answer": prompt.answer, "domain": prompt.domain, "question": prompt.question,
             "meta": {**prompt.meta, "truncated": c.truncated}} for c in completions]


def media_refs(prompt: Prompt) -> list[str]:
    """The prompt's image/video files (saved with its rollouts for the inspector)."""
    refs = []
    for message in prompt.messages:
        content = message.get("content")
        for item in content if isinstance(content, list) else []:
            ref = item.get("image") or item.get("video")
            if isinstance(ref, str) and not ref.startswith("data:"):
                refs.append(str(Path(prompt.base_dir or ".", ref)))
    return refs


@dataclass
class GroupOutcome:
    """What every rank knows of a group after the step's gather: its scored rollouts (the
    records saved for inspection) and each completion's trained-token count."""

    prompt_id: str
    rollouts: list[Rollout]
    trained_tokens: list[int]
    index: int = -1  # the group's number in the step (rank order)
    kept: bool = False

    @property
    def correct(self) -> list[bool | None]:
        return [r.correct for r in self.rollouts]

    @property
    def accuracy(self) -> float | None:
        """Share correct among the judged rollouts (None when every judgement is missing)."""
        seen = [c for c in self.correct if c is not None]
        return sum(seen) / len(seen) if seen else None


@dataclass
class Group:
    """One prompt of this rank and its completions, scored; ``outcome`` once gathered."""

    prompt: Prompt
    completions: list[Completion]
    results: list = field(default_factory=list)  # RewardResult per completion
    outcome: GroupOutcome | None = None

    @property
    def kept(self) -> bool:
        return self.outcome is not None and self.outcome.kept

    @property
    def advantages(self) -> list[float | None]:
        return [r.advantage for r in self.outcome.rollouts] if self.outcome else [None] * len(self.completions)

    def describe(self, think_close) -> GroupOutcome:
        p = self.prompt
        rollouts = [Rollout(
            prompt_id=p.id, domain=p.domain, response=c.text, reward=res.reward,
            correct=None if res.missing else bool(res.correct),
            extracted=None if res.extracted is None else str(res.extracted),
            flags=sorted(res.flags), reason=res.reason, tokens=len(c.token_ids),
            think_tokens=think_length(c.token_ids, think_close), forced=c.forced,
            truncated=c.truncated, media=media_refs(p), answer=p.answer)
            for c, res in zip(self.completions, self.results, strict=True)]
        tokens = [sum(label != IGNORE for label in c.sample.labels) for c in self.completions]
        return GroupOutcome(prompt_id=p.id, rollouts=rollouts, trained_tokens=tokens)


def score_groups(rewards, groups: Sequence[Group]) -> None:
    """Score every completion of ``groups`` in one batched reward call; results land on each group."""
    results = rewards.score_batch([item for g in groups for item in reward_items(g.prompt, g.completions)])
    start = 0
    for g in groups:
        g.results = results[start:start + len(g.completions)]
        start += len(g.completions)


# --- which groups and samples each rank trains on (pure) ---------------------------------------
def kept_by_rank(rank_sizes: Sequence[int], kept: Iterable[int]) -> list[list[int]]:
    """Each rank's kept groups as its local indices. Groups are numbered in rank order, so rank
    r's local group i is group ``sum(rank_sizes[:r]) + i``."""
    kept = set(kept)
    outside = sorted(g for g in kept if not 0 <= g < sum(rank_sizes))
    if outside:
        raise ValueError(f"kept groups {outside} do not exist: the step has {sum(rank_sizes)} groups")
    out, offset = [], 0
    for size in rank_sizes:
        out.append([i for i in range(size) if offset + i in kept])
        offset += size
    return out


def cut_points(groups: Sequence[int], k: int) -> list[int]:
    """Where to cut a rank's trained samples (listed group by group) into ``k`` consecutive
    mini-batches: ``k + 1`` positions from 0 to ``len(groups)``.

    With at least ``k`` groups every cut falls between two groups, at the boundary nearest an
    equal split (whole groups: a prompt's completions are normalised and forwarded together);
    with fewer, samples are split evenly and a group may straddle two mini-batches; fewer
    samples than ``k`` leave some mini-batches empty.
    """
    n = len(groups)
    if k < 1:
        raise ValueError(f"mini-batches must be at least 1, got {k}")
    bounds = [0] + [i for i in range(1, n) if groups[i] != groups[i - 1]] + [n] if n else [0]
    if len(bounds) - 1 < k:
        return [j * n // k for j in range(k + 1)]
    cuts = [0]
    for j in range(1, k):
        lo = bisect_right(bounds, cuts[-1])  # the first boundary after the previous cut
        hi = len(bounds) - 1 - (k - j)  # leaves a boundary for every later cut
        cuts.append(bounds[min(range(lo, hi + 1), key=lambda b: (abs(bounds[b] - j * n / k), b))])
    return cuts + [n]


@dataclass
class MiniBatch:
    """One optimizer step's samples on this rank and that step's counts over all ranks (each
    mini-batch's loss is normalised by its own samples or tokens)."""

    samples: list[Encoded]
    advantages: list[float]
    groups: list[int]  # equal numbers: completions of the same prompt (its forward is shared)
    total_samples: int
    total_tokens: int
    filler: bool = False  # nothing of this rank's: one zero-weight sample keeps collectives in step
    # the rollout engine's log-prob of each completion token, per sample (None: not reported),
    # and each sample's domain: the sampler-trainer mismatch (rl.mismatch) is logged per domain
    sampler_logprobs: list | None = None
    domains: list[str] | None = None

    def __post_init__(self):
        if not len(self.samples) == len(self.advantages) == len(self.groups):
            raise ValueError(f"a mini-batch needs one advantage and one group per sample; got "
                             f"{len(self.samples)} samples, {len(self.advantages)} advantages, "
                             f"{len(self.groups)} groups")
        if not self.samples:
            raise ValueError("an empty mini-batch (a rank without samples passes filler=True and one sample)")


def split(samples: list[Encoded], advantages: list[float], groups: list[int] | None = None,
          k: int = 1, sampler_logprobs: list | None = None, domains: list[str] | None = None
          ) -> list[MiniBatch]:
    """One process's samples (listed group by group) as ``k`` mini-batches (``cut_points``),
    each counting its own samples and tokens; ``groups=None``: every sample its own prompt.
    ``sampler_logprobs`` / ``domains`` (per sample) travel with them (see ``MiniBatch``)."""
    groups = list(range(len(samples))) if groups is None else list(groups)
    if sampler_logprobs is not None and domains is None:
        domains = [""] * len(samples)
    cuts = cut_points(groups, k)
    out = []
    for a, b in pairwise(cuts):
        if a < b:
            rows = samples[a:b]
            out.append(MiniBatch(rows, list(advantages[a:b]), groups[a:b], len(rows),
                                 sum(sum(x != IGNORE for x in s.labels) for s in rows),
                                 sampler_logprobs=None if sampler_logprobs is None else sampler_logprobs[a:b],
                                 domains=None if domains is None else domains[a:b]))
    return out


@dataclass
class Row:
    group: int
    position: int  # completion within the group
    advantage: float
    tokens: int


@dataclass
class StepBatch:
    """This rank's groups and every rank's group outcomes, after the step's one gather."""

    groups: list[Group]
    outcomes: list[GroupOutcome]
    rank_sizes: list[int]  # groups per rank
    rank: int = 0

    @classmethod
    def gather(cls, groups: list[Group], think_close, rank: int = 0) -> StepBatch:
        """The step's one ``all_gather_object``: every rank's group outcomes, in rank order."""
        parts = all_gather_object([g.describe(think_close) for g in groups])
        outcomes = [o for part in parts for o in part]
        for i, o in enumerate(outcomes):
            o.index = i
            for r in o.rollouts:
                r.group = i
        sizes = [len(part) for part in parts]
        offset = sum(sizes[:rank])
        for i, g in enumerate(groups):
            g.outcome = outcomes[offset + i]
        return cls(groups, outcomes, sizes, rank)

    @property
    def offsets(self) -> list[int]:
        """Each rank's first group number."""
        return [sum(self.rank_sizes[:r]) for r in range(len(self.rank_sizes))]

    @property
    def rollouts(self) -> list[Rollout]:
        return [r for o in self.outcomes for r in o.rollouts]

    def rollouts_per_rank(self) -> list[int]:
        return [sum(len(o.rollouts) for o in self.outcomes[start:start + size])
                for start, size in zip(self.offsets, self.rank_sizes)]

    @property
    def correct(self) -> list[list[bool | None]]:
        return [o.correct for o in self.outcomes]

    def no_signal_rate(self) -> float:
        """Share of groups without signal (all correct or all wrong): the report's "invalid"
        groups, named apart from eval's ``invalid_rate`` (unparsable answers)."""
        return 1.0 - sum(group_has_signal(c) for c in self.correct) / max(1, len(self.outcomes))

    def keep(self, indices: Iterable[int]) -> None:
        for i in indices:
            self.outcomes[i].kept = True
            for r in self.outcomes[i].rollouts:
                r.kept = True

    def assign_advantages(self, estimator: Callable[[list[float | None]], list[float | None]]) -> None:
        """Advantages within each kept group (a missing judgement gets none)."""
        for o in self.outcomes:
            if o.kept:
                for r, a in zip(o.rollouts, estimator([r.reward for r in o.rollouts]), strict=True):
                    r.advantage = a

    def rows(self, rank: int) -> list[Row]:
        """The samples rank ``rank`` trains on: kept groups' completions with a non-zero advantage."""
        local = kept_by_rank(self.rank_sizes, [o.index for o in self.outcomes if o.kept])[rank]
        offset = self.offsets[rank]
        return [Row(o.index, j, r.advantage, o.trained_tokens[j])
                for o in (self.outcomes[offset + i] for i in local)
                for j, r in enumerate(o.rollouts) if r.advantage]

    def mini_batches(self, k: int) -> list[MiniBatch]:
        """This rank's share of each of ``k`` mini-batches with each one's counts over all ranks.
        Every rank cuts its own samples (``cut_points``) and computes every other rank's cuts the
        same way, so the counts need no further collective; a mini-batch empty on every rank is
        dropped on every rank alike."""
        per_rank = [self.rows(r) for r in range(len(self.rank_sizes))]
        cuts = [cut_points([row.group for row in rows], k) for rows in per_rank]
        offset = self.offsets[self.rank]
        out = []
        for j in range(k):
            parts = [rows[c[j]:c[j + 1]] for rows, c in zip(per_rank, cuts)]
            total_samples = sum(len(part) for part in parts)
            if not total_samples:
                continue
            total_tokens = sum(row.tokens for part in parts for row in part)
            mine = parts[self.rank]
            if mine:
                chosen = [(self.groups[row.group - offset], row.position) for row in mine]
                completions = [g.completions[i] for g, i in chosen]
                logprobs = [c.logprobs for c in completions]
                out.append(MiniBatch([c.sample for c in completions], [row.advantage for row in mine],
                                     [row.group for row in mine], total_samples, total_tokens,
                                     sampler_logprobs=logprobs if any(lp is not None for lp in logprobs) else None,
                                     domains=[g.prompt.domain for g, _ in chosen]))
            else:
                spare = self.groups[0]
                out.append(MiniBatch([spare.completions[0].sample], [0.0], [spare.outcome.index],
                                     total_samples, total_tokens, filler=True))
        return out
