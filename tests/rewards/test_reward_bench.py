"""The throughput benchmark runs (tiny count); its numbers are not part of the test suite."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_script_runs():
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "reward_throughput.py"),
            "--n",
            "40",
            "--latency-n",
            "8",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    names = {r["domain"] for r in report["rows"]}
    assert {"choice", "counting", "ocr", "exact_match", "math_mix", "math_symbolic"} <= names
    assert all(r["per_s"] > 0 and r["p99_ms"] is not None for r in report["rows"])
    assert report["math_equivalence"]["accepted_without_judge"] >= 0.9
