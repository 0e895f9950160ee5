"""The reward system is a plain library: importing it must not pull in torch."""

import subprocess
import sys


def test_import_does_not_load_torch():
    code = (
        "import sys, thinkvl.rewards, thinkvl.rewards.audit, thinkvl.commands.reward; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_scoring_does_not_load_torch():
    code = (
        "import sys; from thinkvl.rewards import RewardSystem; from thinkvl.format import "
        "make_response as m; rs = RewardSystem(); "
        "r = rs.score(m('3'), 3, 'counting'); assert r.correct; "
        "assert 'torch' not in sys.modules"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
