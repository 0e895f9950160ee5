"""Helpers for the training tests: write a recipe, run a stage in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PY = sys.executable


def write_config(path: Path, **sections) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(sections, sort_keys=False))
    return path


def run_module(args: list[str], env: dict | None = None, timeout: int = 300,
               check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m thinkvl.train …`` (or torchrun) in a fresh process."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", **(env or {})}
    proc = subprocess.run(args, check=False, capture_output=True, text=True, timeout=timeout, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc

