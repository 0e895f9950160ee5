"""Dynamic sampling with EMA expansion.

A group whose rollouts are all correct or all wrong has zero advantage everywhere: no signal.
With a share ``q`` of groups without signal (``no_signal_rate``; the report calls it the invalid
rate), 1 / (1 − q) times the prompts are needed to fill a batch. The EMA of that factor sizes the next step's prompt draw before generation (so the
rollout count is fixed in advance); afterwards the groups with signal are kept, the most
balanced correct/incorrect splits first. Filtering uses correctness, not shaped reward.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


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


def expansion_factor(no_signal_rate: float, max_expansion: float) -> float:
    """1 / (1 − no_signal_rate), capped (no group with signal ⇒ the cap)."""
    if no_signal_rate >= 1.0:
        return max_expansion
    return min(max_expansion, 1.0 / (1.0 - no_signal_rate))


@dataclass
class ExpansionEMA:
    """EMA of the expansion factor; part of the checkpoint.

    Before any step is observed the draw uses ``initial`` (1.0 when unset: nothing is known yet).
    With ``initial`` unset the first observed factor *seeds* the EMA instead of being averaged
    with 1.0: from 1.0 and decay 0.8 a true factor of 2 took ~10 steps to be drawn for, so early
    steps trained on too few groups with signal. A configured ``initial`` is a prior the
    observations are averaged into.
    """

    decay: float = 0.9
    max_expansion: float = 4.0
    initial: float | None = None
    value: float = field(init=False)
    observed: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.initial is not None and not 1.0 <= self.initial <= self.max_expansion:
            raise ValueError(f"the initial expansion must lie in [1, max_expansion = {self.max_expansion}], "
                             f"got {self.initial}")
        self.value = 1.0 if self.initial is None else float(self.initial)

    def prompts_to_draw(self, prompts_per_step: int) -> int:
        return max(prompts_per_step, math.ceil(prompts_per_step * self.value - 1e-9))

    def update(self, no_signal_rate: float) -> float:
        factor = expansion_factor(no_signal_rate, self.max_expansion)
        if self.observed or self.initial is not None:
            self.value = self.decay * self.value + (1.0 - self.decay) * factor
        else:
            self.value = factor
        self.observed = True
        return self.value

    def state_dict(self) -> dict:
        return {"value": self.value, "observed": self.observed}

    def load_state_dict(self, state: dict) -> None:
        """Reads ``value`` (and ``observed``); a checkpoint written before ``observed`` existed
        was saved after at least one step, so it counts as observed. Other old keys
        (``last_invalid_rate``) are ignored."""
        self.value = float(state["value"])
        self.observed = bool(state.get("observed", True))
