"""Shared fixtures for the synthetic-world tests: one small world generated once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from synth_helpers import PER_DOMAIN, load_jsonl

from thinkvl.data.synthetic import generate_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("world")
    manifest = generate_world(out, per_domain=PER_DOMAIN, seed=7, progress=False)
    return out, manifest


@pytest.fixture(scope="session")
def records(world: tuple[Path, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out, _ = world
    return {name: load_jsonl(out / f"{name}.jsonl")
            for name in ("pretrain", "sft", "rl_train", "rl_eval")}
