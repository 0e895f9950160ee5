"""`thinkvl demo`: the plan as data, stage bookkeeping, and the whole pipeline in --quick mode
(the CI smoke run: real stages on the tiny model, summary.json and the report checked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from thinkvl.config import ConfigError
from thinkvl.demo import STAGES, DemoRun, load_plan

DOMAINS = {"counting", "ocr", "grounding", "chart", "math", "choice", "gui", "video"}


def test_plan_full_and_quick():
    full, quick = load_plan(), load_plan(quick=True)
    assert full.rl.steps > quick.rl.steps and full.sft.steps > quick.sft.steps
    assert full.checks.enforce and not quick.checks.enforce  # the smoke run checks plumbing only
    assert full.eval.samples > 0 and quick.eval.samples > 0  # the check judges sampled accuracy
    assert full.world.levels == quick.world.levels
    # command-line overrides win over the quick ones
    assert load_plan(quick=True, overrides=["rl.steps=7"]).rl.steps == 7


def test_plan_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="rl.stepz"):
        load_plan(overrides=["rl.stepz=3"])
    with pytest.raises(ConfigError, match="grade.k"):
        load_plan(overrides=["grade.k=0"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_plan(str(tmp_path / "nope.yaml"))


def test_redo_removes_the_stage_and_later_ones(tmp_path):
    run = DemoRun(tmp_path, load_plan(quick=True))
    for name in ("world", "pretrain", "sft", "rl", "eval"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x").write_text("1")
    (tmp_path / "grade.json").write_text("{}")
    run.summary["stages"] = {s: {"seconds": 1.0} for s in STAGES}
    run.redo(["grade", "rl"])
    assert (tmp_path / "world" / "x").exists() and (tmp_path / "sft" / "x").exists()
    assert not (tmp_path / "grade.json").exists() and not (tmp_path / "rl").exists()
    assert not (tmp_path / "eval").exists()
    assert list(run.summary["stages"]) == ["synth", "pretrain", "sft"]
    with pytest.raises(ValueError, match="unknown stage"):
        run.redo(["rlhf"])


@pytest.mark.slow
@pytest.mark.timeout(600)  # 44 s on a quiet 2-core machine; 142 s at load average 8-10
def test_demo_quick_end_to_end(tmp_path):
    out = tmp_path / "demo"
    env = {**os.environ, "OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"}
    cmd = [sys.executable, "-m", "thinkvl.cli", "demo", "--quick", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    s = json.loads((out / "summary.json").read_text())
    plan = load_plan(quick=True)
    assert s["quick"] is True
    assert set(s["stages"]) == set(STAGES)
    assert all(st["seconds"] >= 0 for st in s["stages"].values())
    assert s["stages"]["pretrain"]["steps"] == plan.pretrain.steps
    assert s["stages"]["sft"]["steps"] == plan.sft.steps
    assert s["stages"]["grade"]["k"] == plan.grade.k
    for when in ("sft", "rl"):
        assert set(s["accuracy"][when]) == DOMAINS
        assert set(s["direct"][when]) == DOMAINS
        assert all(0.0 <= v <= 1.0 for v in s["accuracy"][when].values())
    assert s["rl"]["steps"] == plan.rl.steps and s["rl"]["rollouts"] > 0
    assert s["rl"]["tokens_generated"] > 0 and s["rl"]["final_expansion"] >= 1.0
    assert s["audit"]["passed"] is True and s["audit"]["hackable"] == []
    check = s["checks"]["rl_improves_heldout"]
    # --quick draws one sample per record: the check judges the sampled change, greedy is reported
    sampled = s["mean_accuracy_sampled"]
    assert check["mode"] == "think, sampled" and s["eval"]["mode"] == "greedy and 1 sample per record"
    assert check["gain"] == pytest.approx(sampled["rl"] - sampled["sft"])
    assert s["heldout_gain"]["greedy"]["delta"] == pytest.approx(s["mean_accuracy"]["rl"] - s["mean_accuracy"]["sft"])
    low, high = check["interval"]
    assert low <= check["gain"] <= high
    assert check["passed"] == (low > plan.checks.min_rl_gain)
    # the difficulty sidecar the curriculum reads, and the run folders of every stage
    assert (out / "world" / "rl_train.difficulty.jsonl").exists()
    assert (out / "rl" / "final" / "config.json").exists() and (out / "rl" / "metrics.jsonl").exists()
    page = (out / "report.html").read_text()
    for section in ('id="overview"', 'alt="accuracy SFT vs RL"', 'id="rl-accuracy"', 'id="rl-curriculum"',
                    'id="rl-lengths"', 'id="rl-rollouts"', 'id="f-domain"', 'id="settings"'):
        assert section in page, section
    # a rerun skips every finished stage: their outputs and summary entries stay as they were
    # (the audit and the report always run again)
    outputs = [out / "world" / "manifest.json", out / "pretrain" / "final" / "config.json",
               out / "sft" / "final" / "config.json", out / "grade.json", out / "rl" / "summary.json",
               out / "rl" / "final" / "config.json", out / "eval" / "direct.json"]
    written = {p: p.stat().st_mtime_ns for p in outputs}
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert (again.stdout + again.stderr).count("skipped") >= 6
    assert {p: p.stat().st_mtime_ns for p in outputs} == written
    rerun = json.loads((out / "summary.json").read_text())
    for stage in ("synth", "pretrain", "sft", "grade", "rl", "eval"):
        assert rerun["stages"][stage] == s["stages"][stage], stage


def test_recipe_names_resolve_beside_a_folder_of_that_name(tmp_path, monkeypatch):
    """`thinkvl demo` run from a folder holding its own `demo/` run folder still finds the plan."""
    from thinkvl.config import resolve_recipe

    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    assert resolve_recipe("demo").name == "demo.yaml" and resolve_recipe("demo").is_file()
    assert load_plan("demo").rl.steps >= 1
