"""thinkvl's reward system: one verifier per domain behind shared format checks and guards.

    from thinkvl.rewards import RewardSystem
    rs = RewardSystem()                      # built-in default config (no judge)
    r = rs.score(response, answer=3, domain="counting")
    r.score, r.correct, r.flags

Imports no torch, so any trainer (verl, TRL, OpenRLHF) can use it as a plain library.
"""

from __future__ import annotations

from .config import DEFAULT_CONFIG, RewardConfig, default_config, load
from .result import RewardResult
from .system import RewardSystem

__all__ = [
    "DEFAULT_CONFIG",
    "RewardConfig",
    "RewardResult",
    "RewardSystem",
    "default_config",
    "load",
]
