"""Rollouts sample from the whole distribution by default (the report: temperature 1.0, top-p
1.0): no top-k cut slips in from a library or generation-config default."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from thinkvl.model.factory import build_tiny, load_model

    return load_model(build_tiny(tmp_path_factory.mktemp("tiny") / "m"))


def test_default_sampling_has_no_truncation(tiny):
    from thinkvl.model.next_token import logits_processors
    from thinkvl.model.settings import GenerationSettings
    from thinkvl.rl.config import RolloutConfig

    names = lambda s: {type(p).__name__ for p in logits_processors(tiny, s, 0, 8, 1, "cpu")[0]}  # noqa: E731
    assert RolloutConfig().top_k == 0 and RolloutConfig().top_p == 1.0
    assert names(RolloutConfig()) == {"SuppressTokensLogitsProcessor"}  # the rollout section as it decodes
    assert "TopKLogitsWarper" in names(GenerationSettings(temperature=1.0, top_k=5))
    assert "TopPLogitsWarper" in names(GenerationSettings(temperature=1.0, top_p=0.9))
