"""`thinkvl eval` end to end (as mounted by the lead), reports and run comparison."""

import json

from typer.testing import CliRunner

from thinkvl.commands.eval import app
from thinkvl.eval.report import compare

ARGS = ["generation.think_budget=8", "generation.answer_budget=4"]


def test_eval_command_resume_and_compare(tiny_dir, eval_one, tmp_path):
    runner = CliRunner()
    out = tmp_path / "a"
    args = ["--model", str(tiny_dir), "--bench", f"syn=records:{eval_one}", "--mode", "both",
            "--out", str(out), *ARGS]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "16 new predictions" in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "0 new predictions" in again.output
    results = json.loads((out / "results.json").read_text())["results"]
    assert [r["mode"] for r in results] == ["think", "direct"]
    for r in results:
        assert set(r["overall"]) >= {"n", "accuracy", "invalid_rate", "truncated_rate"}
        assert r["settings"]["decoder"].startswith("transformers")
        assert r["settings"]["image_max_pixels"] == 6144 * 8 * 8 * 2 * 2 * 2

    other = tmp_path / "b"
    r = runner.invoke(app, ["--model", str(tiny_dir), "--bench", f"syn=records:{eval_one}",
                            "--out", str(other), "--model-id", "tiny-b", *ARGS,
                            "generation.temperature=0.7"])
    assert r.exit_code == 0, r.output
    cmp = runner.invoke(app, ["compare", str(out), str(other), "--label", "A", "--label", "B",
                              "--out", str(tmp_path / "cmp.md")])
    assert cmp.exit_code == 0, cmp.output
    text = (tmp_path / "cmp.md").read_text()
    assert "| syn | think |" in text and "| syn | direct |" in text
    assert "decoding **(differs)**" in text and "T=0.7" in text
    assert "judge" in text and "image cap" in text


def test_eval_command_errors_are_plain(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["--model", str(tmp_path), "--bench", "mathvista"])
    assert r.exit_code == 1 and "no path" in r.output
    r = runner.invoke(app, ["--model", "x", "--bench", "records:/x", "generation.nope=1"])
    assert r.exit_code == 2 and "nope" in r.output


def test_compare_marks_missing_cells(tmp_path):
    for name, mode in (("r1", "think"), ("r2", "direct")):
        (tmp_path / name).mkdir()
        m = {"n": 4, "scored": 4, "accuracy": 0.5, "score": 0.5, "invalid_rate": 0.25,
             "invalid": 1, "truncated_rate": 0, "forced_rate": 0, "judge_failed": 0, "failed": 0}
        (tmp_path / name / "results.json").write_text(json.dumps({"results": [
            {"bench": "b", "mode": mode, "overall": m, "by_domain": {}, "by_group": {},
             "settings": {"model": name, "generation": {"temperature": 0}}}]}))
    text = compare([tmp_path / "r1", tmp_path / "r2"])
    assert "50.0 (n=4, inv 25.0%)" in text and "—" in text
    assert "model **(differs)**" in text
