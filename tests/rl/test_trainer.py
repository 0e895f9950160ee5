"""The RL trainer on the real tiny model: outputs, exact resume, refusal to overwrite."""

import json

import pytest

from thinkvl.rl.run import run_rl
from thinkvl.track import read_metrics

pytestmark = pytest.mark.slow


def test_rl_run_writes_metrics_rollouts_checkpoint_and_summary(counting_sft, rl_config, tmp_path):
    out = tmp_path / "run"
    cfg = rl_config(counting_sft, out, **{"data.eval": counting_sft["eval"], "data.eval_limit": 8,
                                          "run.save_every": 1})
    summary = run_rl(cfg)
    assert summary["steps"] == 2 and summary["rollouts"] >= 2 * 4 * 4
    assert summary["eval_before"]["n"] == {"counting": 8} and summary["eval_after"] is not None
    metrics = read_metrics(out)
    assert [m["step"] for m in metrics] == [1, 2]
    first = metrics[0]
    assert set(first["domains"]) == {"counting"}
    for key in ("reward", "accuracy", "all_correct", "all_wrong", "response_tokens", "think_tokens",
                "force_answer_rate"):
        assert key in first["domains"]["counting"]
    for key in ("expansion", "tier_mix", "no_signal_rate", "seconds", "totals"):
        assert key in first
    assert first["prompts_drawn"] >= 4
    assert sum(m["samples_trained"] for m in metrics) > 0  # a policy with signal: groups were trained on
    rollouts = [json.loads(line) for line in (out / "rollouts" / "step_000001.jsonl").read_text().splitlines()]
    assert len(rollouts) == first["prompts_drawn"] * 4
    assert {"prompt_id", "domain", "response", "reward", "flags", "kept", "advantage"} <= set(rollouts[0])
    assert (out / "final" / "config.json").exists()
    assert (out / "checkpoints" / "step_000002").exists()
    assert json.loads((out / "summary.json").read_text())["steps"] == 2
    with pytest.raises(FileExistsError, match="--resume"):
        run_rl(cfg)


def test_resumed_run_matches_uninterrupted_run(counting_sft, rl_config, tmp_path):
    straight = run_rl(rl_config(counting_sft, tmp_path / "a", **{"rl.steps": 4, "run.save_every": 2}))
    run_rl(rl_config(counting_sft, tmp_path / "b", **{"rl.steps": 2, "run.save_every": 2}))
    resumed = run_rl(rl_config(counting_sft, tmp_path / "b", **{"rl.steps": 4, "run.save_every": 2}), resume=True)
    assert straight["steps"] == resumed["steps"] == 4
    a, b = read_metrics(tmp_path / "a"), read_metrics(tmp_path / "b")
    assert [m["step"] for m in b] == [1, 2, 3, 4]
    keys = ("reward", "accuracy", "prompts_drawn", "groups_kept", "samples_trained", "expansion", "tier_mix",
            "response_tokens")
    for ma, mb in zip(a[2:], b[2:]):
        assert {k: ma.get(k) for k in keys} == {k: mb.get(k) for k in keys}
        assert ma.get("loss") == pytest.approx(mb.get("loss"), abs=1e-6)
        assert ma["domains"] == mb["domains"]
