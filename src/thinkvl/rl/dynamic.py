"""Dynamic sampling with EMA expansion.

A group whose rollouts are all correct or all wrong has zero advantage everywhere: no signal.
With an invalid share ``q`` of groups, 1 / (1 − q) times the prompts are needed to fill a
batch. The EMA of that factor sizes the next step's prompt draw before generation (so the
rollout count is fixed in advance); afterwards the groups with signal are kept, the most
balanced correct/incorrect splits first. Filtering uses correctness, not shaped reward.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def group_has_signal(correct: Sequence[bool | None]) -> bool:
    """Signal needs both a correct and an incorrect rollout (missing ones are ignored)."""
    seen = {c for c in correct if c is not None}
    return len(seen) == 2


def balance(correct: Sequence[bool | None]) -> float:
    """1.0 for a 50/50 split, 0.0 for a one-sided group."""
    present = [c for c in correct if c is not None]
    if not present:
        return 0.0
    p = sum(present) / len(present)
    return 1.0 - abs(2.0 * p - 1.0)


def select_groups(groups: Sequence[Sequence[bool | None]], keep: int) -> list[int]:
    """Indices of up to ``keep`` groups with signal, most balanced first (ties: original order)."""
    useful = [i for i, g in enumerate(groups) if group_has_signal(g)]
    useful.sort(key=lambda i: -balance(groups[i]))
    return sorted(useful[:keep])


def expansion_factor(invalid_rate: float, max_expansion: float) -> float:
    """1 / (1 − invalid_rate), capped (all groups invalid ⇒ the cap)."""
    if invalid_rate >= 1.0:
        return max_expansion
    return min(max_expansion, 1.0 / (1.0 - invalid_rate))


@dataclass
class ExpansionEMA:
    """EMA of the expansion factor; part of the checkpoint."""

    decay: float = 0.9
    max_expansion: float = 4.0
    value: float = 1.0

    def prompts_to_draw(self, prompts_per_step: int) -> int:
        return max(prompts_per_step, math.ceil(prompts_per_step * self.value - 1e-9))

    def update(self, invalid_rate: float) -> float:
        factor = expansion_factor(invalid_rate, self.max_expansion)
        self.value = self.decay * self.value + (1.0 - self.decay) * factor
        return self.value

    def state_dict(self) -> dict:
        return {"value": self.value}

    def load_state_dict(self, state: dict) -> None:
        """Reads ``value``; older checkpoints' other keys (``last_invalid_rate``) are ignored."""
        self.value = float(state["value"])
