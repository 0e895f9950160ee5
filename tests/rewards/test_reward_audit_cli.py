"""The audit passes on the default config, fails on a weakened one; the CLI scores files."""

from __future__ import annotations

import json

from reward_helpers import resp
from typer.testing import CliRunner

from thinkvl.commands.reward import app
from thinkvl.rewards.audit import run_audit
from thinkvl.rewards.config import build

runner = CliRunner()


def test_default_config_passes_its_own_audit():
    report = run_audit()
    assert report.passed, [(r.domain, r.probe, r.score, r.reason) for r in report.hackable]
    controls = [r for r in report.results if r.expected == "reward"]
    assert controls and all(r.score > 0 for r in controls)
    assert any(r.probe == "judge_control" and r.judge_called for r in report.results)
    probes = {r.probe for r in report.results}
    assert {
        "hedged_range",
        "several_boxes",
        "every_option",
        "empty_box",
        "box_in_think_only",
        "no_answer_block",
        "huge_answer",
        "repeated_blocks",
        "mixed_language",
        "judge_injection",
        "restated_question",
        "speed_of_light",
        "whole_image",
        "grid_of_boxes",
        "click_every_element",
        "very_long",
    } <= probes


def test_weakened_guards_are_caught_by_the_audit():
    weak = build(
        {
            "guards": {"hedge": False, "injection": False, "multiple_answers": False},
            "domains": {"grounding": {"options": {"max_box_ratio": 1000}}},
        }
    )
    report = run_audit(weak)
    assert not report.passed
    hacked = {(r.domain, r.probe) for r in report.hackable}
    assert ("vqa", "judge_injection") in hacked and ("vqa", "speed_of_light") in hacked


def test_cli_audit_exit_codes(tmp_path):
    ok = runner.invoke(app, ["audit", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["passed"] is True
    weak = tmp_path / "weak.yaml"
    weak.write_text("guards:\n  hedge: false\n")
    bad = runner.invoke(app, ["audit", "--config", str(weak)])
    assert bad.exit_code == 1 and "HACKABLE" in bad.output


def test_cli_score_writes_rewards(tmp_path):
    src = tmp_path / "in.jsonl"
    rows = [
        {"response": resp("3"), "answer": 3, "domain": "counting"},
        {"response": resp("\\frac{3}{4}"), "answer": "0.75", "domain": "math"},
        {
            "response": resp("K7PY"),
            "answer": "K7PX",
            "domain": "ocr",
            "prompt": [{"role": "user", "content": [{"type": "text", "text": "Read it."}]}],
        },
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["score", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["reward"]["score"] for g in got] == [1.0, 1.0, 0.75]
    assert got[0]["domain"] == "counting" and got[2]["reward"]["correct"] is False


def test_cli_score_bad_lines(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"response": resp("3"), "answer": 3, "domain": "counting"})
        + "\n"
        + "{not json\n"
        + json.dumps({"response": resp("3"), "domain": "counting"})
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["score", str(src), "--out", str(out)])
    assert res.exit_code == 1 and "in.jsonl:2" in res.output
    res = runner.invoke(app, ["score", str(src), "--out", str(out), "--skip-bad"])
    assert res.exit_code == 0 and "skipped 2" in res.output
    assert len(out.read_text().splitlines()) == 1
