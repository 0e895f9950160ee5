"""`check_file` and `thinkvl data check`: every bad record reported at the right line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thinkvl.commands.data import app
from thinkvl.data.check import check_file
from thinkvl.data.io import write_parquet

# a whole 1x1 PNG: data check decodes images now, and a bare header is a truncated file
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c"
                    "49444154789c6338c1c00000025c00c943c812460000000049454e44ae426082")
RESPONSE = "<think>two</think><answer><|begin_of_box|>2<|end_of_box|></answer>"
ROOT = Path(__file__).resolve().parents[2]


def sft(i: int, **kw) -> dict:
    rec = {"id": f"s{i}", "domain": "counting", "messages": [
        {"role": "user", "content": [{"type": "image", "image": "img.png"},
                                     {"type": "text", "text": "How many?"}]},
        {"role": "assistant", "content": RESPONSE}]}
    rec.update(kw)
    return rec


def rl(i: int, **kw) -> dict:
    rec = {"id": f"r{i}", "domain": "math", "prompt": [{"role": "user", "content": "1+1?"}],
           "answer": 2}
    rec.update(kw)
    return rec


@pytest.fixture()
def corrupted(tmp_path: Path) -> Path:
    """Good records interleaved with one of each corruption; line numbers are fixed below."""
    (tmp_path / "img.png").write_bytes(PNG)
    missing_image = sft(4)
    missing_image["messages"][0]["content"][0]["image"] = "nope.png"
    lines = [
        json.dumps(sft(1)),                                   # 1 ok
        '{"id": "s2", "domain": "counting", "messages": [',   # 2 bad JSON
        json.dumps(rl(3, answer=None)),                       # 3 null answer
        json.dumps(missing_image),                            # 4 missing image
        "",                                                   # 5 blank: not a record
        json.dumps({k: v for k, v in rl(6).items() if k != "answer"}),  # 6 missing field
        json.dumps(rl(7, difficulty=[1])),                    # 7 wrong type
        json.dumps(sft(1)),                                   # 8 duplicate id of line 1
        json.dumps(rl(9, domain="astrology")),                # 9 warning only
        json.dumps(sft(10, messages=[{"role": "user", "content": "q"}])),  # 10 no assistant
    ]
    p = tmp_path / "bad.jsonl"
    p.write_text("\n".join(lines) + "\n")
    return p


EXPECTED = {
    (2, "json"), (3, "answer"), (4, "messages[0].content[0].image"), (6, "answer"),
    (7, "difficulty"), (8, "id"), (10, "messages[0].role"),
}


def test_check_file_reports_every_problem_at_its_line(corrupted: Path) -> None:
    rep = check_file(corrupted)
    assert {(e.line, e.field) for e in rep.problems} == EXPECTED
    assert all(e.file == str(corrupted) for e in rep.problems)
    dup = next(e for e in rep.problems if e.line == 8)
    assert dup.problem == "duplicate id 's1' (first at line 1)"
    assert [(w.line, w.field) for w in rep.warnings] == [(9, "domain")]
    assert (rep.records, rep.bad_records, rep.n_problems, rep.ok) == (9, 7, 7, False)
    assert rep.by_kind == {"sft": 4, "rl": 4}
    assert rep.by_domain[("rl", "astrology")] == 1 and rep.by_domain[("sft", "counting")] == 4


def test_check_file_limits_kept_problems_but_counts_all(corrupted: Path) -> None:
    rep = check_file(corrupted, max_problems=2)
    assert len(rep.problems) == 2 and rep.n_problems == 7


def test_check_parquet_uses_row_numbers(tmp_path: Path) -> None:
    p = tmp_path / "d.parquet"
    write_parquet(p, [rl(1), rl(2, answer=None), rl(1)])
    rep = check_file(p)
    assert [str(e) for e in rep.problems] == [
        f"{p}:2: answer: is null (the ground truth must be a non-null JSON value)",
        f"{p}:3: id: duplicate id 'r1' (first at row 1)",
    ]


def test_check_file_level_problems(tmp_path: Path) -> None:
    assert str(check_file(tmp_path / "gone.jsonl").problems[0]) == \
        f"{tmp_path / 'gone.jsonl'}: file: no such file"
    (tmp_path / "x.parquet").write_text("not parquet")
    rep = check_file(tmp_path / "x.parquet")
    assert rep.problems[0].field == "file" and "cannot read Parquet" in rep.problems[0].problem
    (tmp_path / "x.csv").write_text("a,b")
    assert "unsupported data file" in check_file(tmp_path / "x.csv").problems[0].problem


def test_forced_kind(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps(rl(1)) + "\n")
    assert check_file(p).ok
    assert {e.field for e in check_file(p, kind="sft").problems} == {"messages"}


# -- the command -------------------------------------------------------------------------------


def test_cli_prints_locations_and_fails(corrupted: Path) -> None:
    res = CliRunner().invoke(app, ["check", str(corrupted)])
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith(f"{corrupted}:")]
    assert {(int(ln.split(":")[1]), ln.split(": ")[1]) for ln in lines
            if "warning" not in ln} == EXPECTED
    assert f"{corrupted}:9: domain: warning: unknown domain 'astrology'" in res.output
    assert "records by kind and domain" in res.output


def test_cli_max_errors_and_good_files(corrupted: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["check", str(corrupted), "--max-errors", "2"])
    assert res.exit_code == 1
    assert "5 more problem(s) not shown" in res.output
    good = tmp_path / "good"
    good.mkdir()
    (good / "a.jsonl").write_text(json.dumps(rl(1)) + "\n")
    write_parquet(good / "b.parquet", [rl(2)])
    res = CliRunner().invoke(app, ["check", str(good), "--kind", "rl"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["check", str(good / "a.jsonl"), "--kind", "dpo"])
    assert res.exit_code != 0 and "unknown record kind" in res.output


def test_cli_missing_file(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["check", str(tmp_path / "nope.jsonl")])
    assert res.exit_code == 1 and "nope.jsonl: file: no such file" in res.output


def test_bench_runs_small(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "data_stream.py"), "--count", "600", "--points",
         "200,600", "--shards", "3", "--buffer", "100", "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(ROOT / "src"),
                                                          "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    table = [ln.split() for ln in res.stdout.splitlines() if ln.startswith(("jsonl", "parquet"))]
    assert [(row[0], row[1]) for row in table] == [
        ("jsonl", "200"), ("jsonl", "600"), ("parquet", "200"), ("parquet", "600")]
