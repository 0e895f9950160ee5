import subprocess
import sys

COMMANDS = ("synth", "data", "model", "pretrain", "sft", "rl", "eval", "reward", "demo", "report")


def test_every_stage_is_a_command_of_the_installed_entry_point():
    out = subprocess.run([sys.executable, "-m", "thinkvl.cli", "--help"], capture_output=True, text=True,
                         timeout=120, env={"COLUMNS": "120", "PATH": ""})
    assert out.returncode == 0, out.stderr
    listed = {line.strip("│ ").split(" ")[0] for line in out.stdout.splitlines()}
    assert set(COMMANDS) <= listed, out.stdout
