"""Reward config: the default is data, YAML merges over it, mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from thinkvl.config import ConfigError
from thinkvl.rewards import RewardSystem
from thinkvl.rewards.config import DEFAULT_CONFIG, build, default_config, load

REPO = Path(__file__).resolve().parents[2]


def test_shipped_yaml_is_a_copy_of_the_default():
    data = yaml.safe_load((REPO / "configs" / "rewards_default.yaml").read_text())
    assert build(data, merge_default=False) == default_config()
    assert data == DEFAULT_CONFIG


def test_every_domain_of_the_brief_is_configured():
    want = {
        "math",
        "physics",
        "chemistry",
        "chart",
        "ocr",
        "counting",
        "choice",
        "vqa",
        "video",
        "grounding",
        "gui",
        "spatial",
        "long_doc",
        "general",
    }
    assert want <= set(RewardSystem().domains)


def test_partial_yaml_merges_over_default(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        "math:\n  timeout_s: 0.5\ndomains:\n  video: null\n  chart:\n    options:\n"
        "      rel_tol: 0.1\n  receipts:\n    verifier: ocr\n"
    )
    rs = RewardSystem.from_yaml(path)
    assert rs.config.math.timeout_s == 0.5
    assert "video" not in rs.domains and "receipts" in rs.domains
    assert rs.config.domains["chart"].options["rel_tol"] == 0.1
    assert rs.config.domains["chart"].judge is True  # untouched keys keep their defaults


def test_unknown_keys_and_bad_values_are_named(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("math:\n  timeout: 3\n")
    with pytest.raises(ConfigError, match="math.timeout"):
        load(path)
    with pytest.raises(ConfigError, match="grounding"):
        RewardSystem({"domains": {"grounding": {"options": {"iou_treshold": 0.5}}}})
    with pytest.raises(ConfigError, match="unknown verifier"):
        RewardSystem({"domains": {"x": {"verifier": "magic"}}})


def test_judge_key_is_never_in_the_config():
    fields = set(default_config().judge.model_dump())
    assert "api_key_env" in fields and "api_key" not in fields
