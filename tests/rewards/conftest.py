"""Shared fixtures: one RewardSystem per session (its math worker starts once)."""

from __future__ import annotations

import pytest

from thinkvl.rewards import RewardSystem


@pytest.fixture(scope="session")
def rs():
    system = RewardSystem()
    yield system
    system.close()
