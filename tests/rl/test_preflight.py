"""Pre-flight: RL refuses a starting policy whose first rollouts are mostly malformed."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from thinkvl.rl.metrics import Rollout
from thinkvl.rl.preflight import PreflightError, check_format, format_error_rates


def _rollout(domain: str, malformed: bool) -> Rollout:
    return Rollout(prompt_id="p", domain=domain, response="", reward=0.0, correct=False, extracted=None,
                   flags=["format_error"] if malformed else [], reason="", tokens=1, think_tokens=0,
                   forced=False, truncated=False)


def test_rates_overall_and_per_domain():
    rs = [_rollout("chart", True), _rollout("chart", False), _rollout("math", True), _rollout("math", True)]
    overall, per_domain = format_error_rates(rs)
    assert overall == 0.75
    assert per_domain == {"chart": 0.5, "math": 1.0}


def test_check_passes_at_or_below_the_limit_and_names_domains_above_it():
    rs = [_rollout("chart", True), _rollout("chart", False), _rollout("math", False), _rollout("math", False)]
    assert check_format(rs, 0.25) == 0.25
    rs[2:] = [_rollout("math", True), _rollout("math", True)]
    with pytest.raises(PreflightError, match=r"75% of the first step's 4 rollouts.*math 100%, chart 50%"):
        check_format(rs, 0.5)


@pytest.fixture(scope="module")
def untrained(counting_sft, tmp_path_factory):
    """The same world, but a policy straight from initialisation: nothing but malformed text."""
    from thinkvl.model.factory import build_tiny

    return {**counting_sft, "model": str(build_tiny(tmp_path_factory.mktemp("raw") / "init", seed=0))}


def test_rl_from_an_untrained_policy_stops_before_any_update(untrained, rl_config, tmp_path):
    from thinkvl.rl.run import run_rl

    out = tmp_path / "run"
    with pytest.raises(PreflightError, match="malformed"):
        run_rl(rl_config(untrained, out, **{"run.save_every": 1}))
    assert not (out / "checkpoints").exists() and not (out / "final").exists()
    # the check can be switched off, and then the run goes on
    summary = run_rl(rl_config(untrained, tmp_path / "forced", **{"rl.preflight_max_format_errors": 1.0,
                                                                   "rl.steps": 1}))
    assert summary["steps"] == 1


def test_cli_reports_the_failed_preflight(untrained, tmp_path):
    from thinkvl.cli import app

    args = ["rl", "--config", "demo_rl", f"model={untrained['model']}", f"data.train={untrained['train']}",
            "data.eval=null", f"run.out={tmp_path / 'cli'}", "rl.steps=1", "rl.prompts_per_step=4",
            "rollout.group_size=2", "run.progress=false", "run.sinks=[jsonl]"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "pre-flight check failed" in result.output and "rl.preflight_max_format_errors" in result.output
