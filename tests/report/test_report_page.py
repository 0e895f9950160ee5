"""The report page: escaping of untrusted text, degraded run folders, run-kind detection,
rollout selection, and the `thinkvl report` command."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import typer
from report_runfolders import XSS, make_rl_run
from typer.testing import CliRunner

from thinkvl.commands.report import report_command
from thinkvl.report import InspectorLimits, NotARunError, build_report, detect_kind, load_run
from thinkvl.report.inspector import select_rollouts, suspicion
from thinkvl.report.inspector_html import highlight_response


def test_untrusted_text_is_escaped(rl_page: Path) -> None:
    html = rl_page.read_text()
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script") == 1  # only the page's own filter script
    assert "<b>not bold</b>" not in html  # config.yaml is text too
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html


def test_markers_are_styled_but_text_escaped() -> None:
    out = highlight_response(
        "<think>a<img src=x onerror=alert(1)></think><answer>"
        '<|begin_of_box|>"7"<|end_of_box|></answer>',
        limit=10_000,
    )
    assert "<img" not in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    assert '<span class="bx">&quot;7&quot;</span>' in out
    assert '<span class="mk">&lt;think&gt;</span>' in out


def test_think_opened_by_the_prompt_is_styled_as_think() -> None:
    out = highlight_response("reasoning</think><answer>A</answer>", limit=1000)
    assert out.startswith('<span class="th">reasoning</span>')
    assert highlight_response("no markers", limit=1000) == "no markers"


def test_long_response_keeps_head_and_tail() -> None:
    text = "<think>" + "x" * 10_000 + "</think><answer>TAIL</answer>"
    out = highlight_response(text, limit=900)
    assert "TAIL" in out and "characters not shown" in out and len(out) < 3000


def test_page_is_self_contained(rl_page: Path) -> None:
    html = rl_page.read_text()
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert not re.search(r"url\((?!data:)", html)
    assert html.count('<img class="chart" src="data:image/png;base64,') >= 6
    assert re.search(r"\.m\d+\{background-image:url\(data:image/png;base64,", html)


def test_rl_page_sections_and_left_out_note(rl_page: Path) -> None:
    html = rl_page.read_text()
    for section in (
        "overview",
        "accuracy",
        "rewards",
        "curriculum",
        "lengths",
        "time",
        "optim",
        "rollouts",
        "settings",
    ):
        assert f'<section id="{section}">' in html
    total = 6 * 5 * 3 * 4  # steps × domains × prompts × group
    match = re.search(
        r"Embedded <b>(\d+)</b> of (\d+) saved rollouts.*?<b>(\d+)</b> rollouts left out",
        html,
        re.DOTALL,
    )
    assert match and int(match.group(2)) == total
    assert int(match.group(1)) + int(match.group(3)) == total
    assert html.count('<article class="ro') == int(match.group(1))
    assert "95% interval of the change: greedy -0.4 to +6.6 pp" in html  # the run's paired bootstrap


def test_run_missing_optional_files_still_renders(tmp_path: Path) -> None:
    run = make_rl_run(tmp_path / "rl", steps=3, rollouts=False)
    (run / "summary.json").unlink()
    (run / "config.yaml").unlink()
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"step": 4, "domains": {"ocr": {"rew')  # torn by a crash
    page = build_report(run).read_text()
    assert "summary.json missing" in page and "skipped 1 unreadable line" in page
    assert "No rollouts saved" in page and "config.yaml not found" in page
    assert "No held-out evaluation" in page and "n/a" in page


def test_old_run_folders_with_rl_invalid_rate_still_show_groups_without_signal(tmp_path: Path) -> None:
    # RL's share of groups without signal was logged as ``invalid_rate`` (the name of eval's
    # unparsable-answer rate) before it became ``no_signal_rate``; old run folders still chart it
    from thinkvl.report import plots
    from thinkvl.report.loaders import load_rl

    for key in ("invalid_rate", "no_signal_rate"):
        run = tmp_path / key
        run.mkdir()
        (run / "metrics.jsonl").write_text("".join(
            json.dumps({"step": s, key: 0.5 - 0.1 * s}) + "\n" for s in (1, 2, 3)))
        metrics = load_rl(run).metrics
        assert [m["no_signal_rate"] for m in metrics] == pytest.approx([0.4, 0.3, 0.2])
        assert all("invalid_rate" not in m for m in metrics)
        assert plots.curriculum(metrics) is not None  # the no-signal line is the chart's only data


def test_bare_folders_render(tmp_path: Path) -> None:
    only_summary = tmp_path / "only_summary"
    only_summary.mkdir()
    (only_summary / "summary.json").write_text(
        json.dumps({"steps": 2, "eval_before": None, "eval_after": {"accuracy": {"ocr": 0.5}}})
    )
    assert "No per-step metrics recorded" in build_report(only_summary).read_text()

    rollouts_only = tmp_path / "rollouts_only"
    (rollouts_only / "rollouts").mkdir(parents=True)
    (rollouts_only / "rollouts" / "step_000001.jsonl").write_text(
        json.dumps(
            {
                "domain": "ocr",
                "response": "x",
                "reward": 0.5,
                "media": ["nowhere.png"],
                "answer": {"box": [1, 2, 3, 4]},
                "extracted": None,
            }
        )
        + "\n"
        + "{broken\n"
    )
    page = build_report(rollouts_only).read_text()
    assert "missing file" in page and "[1, 2, 3, 4]" in page

    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "summary.json").write_text(json.dumps({"stages": {"synth": {"seconds": 1.0}}}))
    page = build_report(demo).read_text()
    assert "No rl/ folder" in page and "Reward audit not recorded" in page


def test_demo_and_eval_pages(demo_run: Path, eval_run: Path) -> None:
    page = build_report(demo_run).read_text()
    assert "Reward audit failed" in page and "counting" in page
    assert 'id="rl-rollouts"' in page and 'id="eval-results"' in page
    page = build_report(eval_run).read_text()
    assert "mmmu_val" in page and "11.0%" in page and "900" in page and "(differs)" in page
    assert (
        "the resolved results.json config" in page
    )  # no config.yaml: the config results.json carries


def test_unknown_eval_shapes_render_generically(tmp_path: Path) -> None:
    run = tmp_path / "eval"
    run.mkdir()
    (run / "results.json").write_text(
        json.dumps(
            {
                "benchmarks": {
                    "mathvista": {
                        "think": {"accuracy": 0.5, "invalid_rate": 0.1, "n": 10, "x": [1]}
                    }
                },
                "runs": [{"name": "chartqa", "accuracy": 0.7, "new_key": "<i>raw</i>"}],
                "summary": {"accuracy": {"ocr": 0.25}, "mean_accuracy": 0.25, "n": {"ocr": 4}},
            }
        )
    )
    page = build_report(run).read_text()
    assert "benchmarks / mathvista / think" in page and "runs / chartqa" in page
    assert "&lt;i&gt;raw&lt;/i&gt;" in page and "<i>raw" not in page
    assert "25.0%" in page and "config.yaml not found" in page


def test_detect_kind(rl_run: Path, demo_run: Path, eval_run: Path, tmp_path: Path) -> None:
    assert detect_kind(rl_run) == "rl"
    assert detect_kind(demo_run) == "demo"
    assert detect_kind(demo_run / "rl") == "rl"
    assert detect_kind(eval_run) == "eval"
    with pytest.raises(NotARunError, match="holds no run"):
        detect_kind(tmp_path)
    with pytest.raises(NotARunError, match="not a folder"):
        detect_kind(tmp_path / "nope")


def test_selection_puts_suspicious_first_and_caps(rl_run: Path) -> None:
    limits = InspectorLimits(steps=2, per_domain_step=3, suspicious_per_domain=4)
    sel = select_rollouts(load_run(rl_run), limits)
    sus = [r for r in sel.rows if r.reasons]
    assert sus and sel.rows[: len(sus)] == sus
    assert {r.domain for r in sus} == {"counting", "grounding"}  # the hedge and the 1-token think
    assert all(sum(r.domain == d for r in sus) <= 4 for d in ("counting", "grounding"))
    ordinary = sel.rows[len(sus) :]
    assert {r.step for r in ordinary} == {5, 6}
    assert all(
        sum(r.domain == d and r.step == s for r in ordinary) <= 3
        for d in {r.domain for r in ordinary}
        for s in (5, 6)
    )
    assert sel.left_out == sel.total_saved - len(sel.rows)
    assert sel.total_saved == 6 * 5 * 3 * 4 and sel.scanned_steps == [1, 2, 3, 4, 5, 6]


def test_selection_reads_a_bounded_window(rl_run: Path) -> None:
    run = load_run(rl_run)
    sel = select_rollouts(run, InspectorLimits(steps=1, scan_steps=3, scan_rollouts=10))
    assert sel.scanned_steps == [6]  # the rollout budget ends the window after one file
    sel = select_rollouts(run, InspectorLimits(steps=3, scan_steps=2, scan_rollouts=10))
    assert sel.scanned_steps == [4, 5, 6]  # sampled steps are read whatever the budget
    assert {r.step for r in sel.rows if not r.reasons} == {4, 5, 6}
    assert sel.total_saved == 6 * 5 * 3 * 4  # the rest counted from metrics totals / lines
    sel = select_rollouts(run, InspectorLimits(steps=0, scan_steps=0))
    assert sel.rows == [] and sel.scanned_steps == [] and sel.left_out == sel.total_saved


def test_suspicion_rules() -> None:
    base = {"reward": 1.0, "correct": True, "extracted": "3", "flags": [], "think_tokens": 30}
    assert suspicion(base, 30) == []
    assert "hedged" in suspicion({**base, "flags": ["hedged"]}, 30)[0]
    assert suspicion({**base, "reward": 0.0, "correct": False, "flags": ["hedged"]}, 30) == []
    assert "truncated" in suspicion({**base, "truncated": True}, 30)[0]
    assert "no extracted answer" in suspicion({**base, "extracted": ""}, 30)[0]
    assert "1-token think" in suspicion({**base, "think_tokens": 1}, 30)[0]
    assert suspicion({**base, "think_tokens": 1}, 2) == []  # a domain that never thinks long
    assert suspicion({**base, "reward": None, "correct": None}, 30) == []


def test_report_command(rl_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "copy"
    shutil.copytree(rl_run, run)
    app = typer.Typer()
    app.command()(report_command)
    result = CliRunner().invoke(app, [str(run), "--per-domain", "1"])
    assert result.exit_code == 0, result.output
    assert (run / "report.html").is_file() and "report:" in result.output  # default: beside the run
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(app, [str(empty), "--out", str(tmp_path / "x.html")])
    assert result.exit_code == 2 and "not a run folder" in result.output


def test_report_imports_no_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, thinkvl.report.html, thinkvl.commands.report; sys.exit('torch' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_eval_summary_table_leaves_out_per_record_values() -> None:
    from thinkvl.report.evalpage import eval_summary_table

    html = eval_summary_table({"accuracy": {"chart": 0.5, "ocr": 0.25}, "mean_accuracy": 0.375,
                               "records": {"chart": {"chart-rec-17": 1.0}, "ocr": {"ocr-rec-3": 0.0}}}, {})
    assert "chart-rec-17" not in html and "records" not in html
    assert "50.0%" in html or "0.50" in html  # the accuracy column is still there
