"""A real ``thinkvl rl`` process killed with SIGKILL after a checkpoint, then ``--resume``d: the
steps after the checkpoint match an uninterrupted run's exactly (metrics, rollouts, weights)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from thinkvl.config import dump_config
from thinkvl.track import read_metrics
from thinkvl.runtime import checkpoint

pytestmark = pytest.mark.slow

KEYS = ("reward", "accuracy", "prompts_drawn", "groups_kept", "samples_trained", "no_signal_rate", "expansion",
        "tier_mix", "force_answer_rate", "response_tokens", "rank_rollouts", "domains")


def command(config: Path, *extra: str) -> list[str]:
    exe = Path(sys.executable).with_name("thinkvl")
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "thinkvl.cli"]
    return [*base, "rl", "--config", str(config), *extra]


ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def write_config(rl_config, setup, out: Path, path: Path) -> Path:
    cfg = rl_config(setup, out, **{"rl.steps": 10, "run.save_every": 2, "run.keep_last": 5})
    dump_config(cfg, path)
    return path


def test_sigkilled_run_resumes_like_an_uninterrupted_one(counting_sft, rl_config, tmp_path):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    cfg_a = write_config(rl_config, counting_sft, straight, tmp_path / "a.yaml")
    cfg_b = write_config(rl_config, counting_sft, broken, tmp_path / "b.yaml")

    done = subprocess.run(command(cfg_a), check=False, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    proc = subprocess.Popen(command(cfg_b), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while checkpoint.latest_checkpoint(broken) is None:
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint written"
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    saved = int(checkpoint.latest_checkpoint(broken).name.split("_")[1])
    assert 2 <= saved < 10 and not (broken / "summary.json").exists() and not (broken / "final").exists()

    done = subprocess.run(command(cfg_b, "--resume"), check=False, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    a, b = read_metrics(straight), read_metrics(broken)
    assert [m["step"] for m in a] == [m["step"] for m in b] == list(range(1, 11))  # no duplicate or lost step
    for ma, mb in zip(a, b):
        assert {k: ma.get(k) for k in KEYS} == {k: mb.get(k) for k in KEYS}, ma["step"]
        for key in ("loss", "grad_norm", "entropy", "clip_fraction"):  # present on steps that trained
            assert (ma.get(key) is None) == (mb.get(key) is None), key
            if ma.get(key) is not None:
                assert ma[key] == pytest.approx(mb[key], rel=1e-5, abs=1e-7), key
        assert ma["totals"]["rollouts"] == mb["totals"]["rollouts"]
    assert len({json.dumps(m["tier_mix"]) for m in a}) > 1 or len({m["expansion"] for m in a}) > 1  # state moves
    for step in range(saved + 1, 11):  # the same rollouts, token for token
        name = f"rollouts/step_{step:06d}.jsonl"
        ra = [json.loads(line) for line in (straight / name).read_text().splitlines()]
        rb = [json.loads(line) for line in (broken / name).read_text().splitlines()]
        assert [(r["prompt_id"], r["response"], r["reward"]) for r in ra] == \
            [(r["prompt_id"], r["response"], r["reward"]) for r in rb]
    wa, wb = load_file(straight / "final" / "model.safetensors"), load_file(broken / "final" / "model.safetensors")
    assert wa.keys() == wb.keys() and all((wa[k] == wb[k]).all() for k in wa)
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (straight, broken))
    assert sa["steps"] == sb["steps"] == 10 and sa["rollouts"] == sb["rollouts"]
