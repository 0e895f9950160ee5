"""Run folders for the report tests, written once per session (the report only reads files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_runfolders import make_demo_run, make_eval_run, make_rl_run


@pytest.fixture(scope="session")
def rl_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_rl_run(tmp_path_factory.mktemp("runs") / "rl", steps=6)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_run(tmp_path_factory.mktemp("runs") / "demo", steps=4)


@pytest.fixture(scope="session")
def eval_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_eval_run(tmp_path_factory.mktemp("runs") / "eval")


@pytest.fixture(scope="session")
def rl_page(rl_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from thinkvl.report import build_report

    return build_report(rl_run, tmp_path_factory.mktemp("pages") / "rl.html")
