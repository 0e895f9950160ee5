"""`thinkvl synth` as a command."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from thinkvl.commands.synth import app


def test_synth_command_writes_world(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--out", str(tmp_path), "--per-domain", "3", "--seed",
                                      "5", "--domains", "counting,math", "--no-progress"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["domains"] == ["counting", "math"] and manifest["seed"] == 5
    assert manifest["files"]["rl_train.jsonl"]["total"] == 6
    for name in ("pretrain", "sft", "rl_train", "rl_eval"):
        assert (tmp_path / f"{name}.jsonl").is_file()


def test_synth_command_rejects_unknown_domain(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--out", str(tmp_path), "--domains", "nope"])
    assert result.exit_code != 0
    assert "nope" in result.output


def test_synth_levels_subset(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--out", str(tmp_path), "--per-domain", "8", "--domains",
                                      "counting,ocr", "--levels", "1,2", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "manifest.json").read_text())["levels"] == [1, 2]
    for name in ("rl_train", "rl_eval"):
        levels = {json.loads(line)["meta"]["level"]
                  for line in (tmp_path / f"{name}.jsonl").read_text().splitlines()}
        assert levels == {1, 2}, (name, levels)


def test_synth_rejects_bad_levels(tmp_path: Path) -> None:
    for bad in ("0,1", "5", "one"):
        result = CliRunner().invoke(app, ["--out", str(tmp_path / bad), "--levels", bad,
                                          "--no-progress"])
        assert result.exit_code != 0
        assert "levels" in result.output
        assert not (tmp_path / bad / "manifest.json").exists()
