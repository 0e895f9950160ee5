"""Data-parallel evaluation: ``torchrun --nproc_per_node 2`` (gloo, CPU) gives the same
predictions and scores as one process, in one merged store, and resumes from it."""

import json
import os
import subprocess
import sys

from typer.testing import CliRunner

from thinkvl.commands.eval import app

ARGS = ["generation.think_budget=8", "generation.answer_budget=4"]


def _samples(run):
    out = {}
    for path in sorted((run / "samples").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            s = json.loads(line)
            out[(path.name, s["id"])] = (s["text"], s["prediction"], s["score"], s["method"])
    return out


def _torchrun(args, env):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "thinkvl.cli", "eval", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                          check=False)


def test_two_ranks_equal_one_process(tiny_dir, eval_file, tmp_path):
    bench = ["--model", str(tiny_dir), "--bench", f"syn={eval_file}", *ARGS]
    one = CliRunner().invoke(app, [*bench, "--out", str(tmp_path / "one")])
    assert one.exit_code == 0, one.output
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    two = _torchrun([*bench, "--out", str(tmp_path / "two")], env)
    assert two.returncode == 0, two.stdout[-3000:] + two.stderr[-3000:]
    a = json.loads((tmp_path / "one" / "results.json").read_text())["results"]
    b = json.loads((tmp_path / "two" / "results.json").read_text())["results"]
    assert [(r["bench"], r["mode"]) for r in a] == [(r["bench"], r["mode"]) for r in b]
    for ra, rb in zip(a, b):
        assert ra["overall"] == rb["overall"] and ra["by_domain"] == rb["by_domain"]
        assert rb["settings"]["data_parallel"] == 2
    assert _samples(tmp_path / "one") == _samples(tmp_path / "two")
    rows = (tmp_path / "two" / "predictions.jsonl").read_text().splitlines()
    assert len(rows) == len({json.loads(r)["key"] for r in rows}) == 2 * a[0]["overall"]["n"]
    assert not list((tmp_path / "two").glob("predictions.rank*.jsonl"))  # merged into one
    assert two.stdout.count("new predictions") == 1  # rank 0 reports, once
    assert f"{len(rows)} new predictions" in two.stdout
    again = _torchrun([*bench, "--out", str(tmp_path / "two")], env)
    assert again.returncode == 0 and "0 new predictions" in again.stdout, again.stderr[-2000:]
