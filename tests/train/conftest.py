"""Shared fixtures: a small synthetic world and a tiny model (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = ["How many red squares are there?", "I count the red squares: 1, 2, 3.",
          "The text reads K 7 Q.", "Which direction does the square move?",
          "Two purple squares and one yellow circle.", "Locate the blue square."] * 5


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    from thinkvl.data.synthetic import generate_world

    out = tmp_path_factory.mktemp("world")
    generate_world(out, per_domain=16, seed=0)
    return out


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    from thinkvl.model.factory import build_tiny

    return build_tiny(tmp_path_factory.mktemp("tiny"), corpus=CORPUS, seed=0)
