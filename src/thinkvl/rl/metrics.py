"""Per-step RL statistics, per domain: what the report says to watch so a hackable reward in one
domain is seen before it derails the others."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from thinkvl.format import THINK_CLOSE


@dataclass
class Rollout:
    """One scored rollout, as saved to ``rollouts/step_NNNNNN.jsonl`` for inspection."""

    prompt_id: str
    domain: str
    response: str
    reward: float | None  # None: the judgement is missing (judge failed)
    correct: bool | None
    extracted: str | None
    flags: list[str]
    reason: str
    tokens: int
    think_tokens: int
    forced: bool
    truncated: bool
    group: int = 0
    advantage: float | None = None
    kept: bool = False
    media: list[str] = field(default_factory=list)
    answer: object = None


def think_length(token_ids: list[int], think_close) -> int:
    """Tokens before ``</think>`` (all of them when the think block never closed).
    ``think_close``: its token id, or (a family where it is several tokens) a function of the ids
    (``think_close_id``)."""
    if callable(think_close):
        return think_close(token_ids)
    return token_ids.index(think_close) if think_close in token_ids else len(token_ids)


def _mean(values) -> float:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else 0.0


def overall_metrics(rollouts: list[Rollout]) -> dict[str, float | int]:
    """The step's reward and accuracy over every domain, counted as ``domain_metrics`` counts
    them: a missing judgement (judge failed) is left out, never read as 0 (``judge_failures``
    says how many were)."""
    return {"reward": _mean(r.reward for r in rollouts),
            "accuracy": _mean(float(r.correct) for r in rollouts if r.correct is not None),
            "judge_failures": sum(r.reward is None for r in rollouts)}


def domain_metrics(rollouts: list[Rollout], groups: dict[int, list[Rollout]]) -> dict[str, dict]:
    """Reward, accuracy, all-correct/all-wrong shares, lengths and rates for each domain."""
    by_domain: dict[str, list[Rollout]] = defaultdict(list)
    for r in rollouts:
        by_domain[r.domain].append(r)
    group_kind: dict[str, list[str]] = defaultdict(list)
    for members in groups.values():
        seen = {m.correct for m in members if m.correct is not None}
        kind = "all_correct" if seen == {True} else "all_wrong" if seen == {False} else "mixed"
        group_kind[members[0].domain].append(kind)
    out = {}
    for domain, rs in sorted(by_domain.items()):
        kinds = group_kind[domain]
        out[domain] = {
            "reward": _mean(r.reward for r in rs),
            "accuracy": _mean(float(r.correct) for r in rs if r.correct is not None),
            "all_correct": kinds.count("all_correct") / max(1, len(kinds)),
            "all_wrong": kinds.count("all_wrong") / max(1, len(kinds)),
            "response_tokens": _mean(r.tokens for r in rs),
            "think_tokens": _mean(r.think_tokens for r in rs),
            "force_answer_rate": _mean(float(r.forced) for r in rs),
            "truncated_rate": _mean(float(r.truncated) for r in rs),
            "format_error_rate": _mean(float("format_error" in r.flags) for r in rs),
            "judge_failures": sum(r.reward is None for r in rs),
            "groups": len(kinds),
        }
    return out


def think_close_id(tokenizer_or_adapter):
    """``</think>``'s id where it is one token; else a function counting the tokens before its
    text (a checkpoint whose tokenizer splits it, before SFT adds the markers)."""
    from thinkvl.model.families import Family

    if not isinstance(tokenizer_or_adapter, Family):
        return tokenizer_or_adapter.convert_tokens_to_ids(THINK_CLOSE)
    info = tokenizer_or_adapter.markers()[THINK_CLOSE]
    if info.single:
        return info.ids[0]
    tok = tokenizer_or_adapter.tokenizer

    def length(ids: list[int]) -> int:
        ends, text = [], ""
        for t in ids:
            text += tok.decode([t], skip_special_tokens=False)
            ends.append(len(text))
        at = text.find(THINK_CLOSE)
        return len(ids) if at < 0 else sum(1 for e in ends if e <= at)

    return length
