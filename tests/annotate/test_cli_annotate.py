"""`thinkvl annotate …` from the command line: set-up commands, readable errors for bad input,
and an export of a fresh project that `thinkvl data check` accepts."""

from __future__ import annotations

import subprocess
import sys

import pytest
from annotate_helpers import EXAMPLE_CONFIG, data_check
from typer.testing import CliRunner

from thinkvl.annotate.demo import synthetic_media
from thinkvl.cli import app

runner = CliRunner()


def cli(*args: str, input: str | None = None):
    result = runner.invoke(app, ["annotate", *args], input=input, env={"COLUMNS": "200"})
    assert "Traceback" not in result.output, result.output
    return result


def test_annotate_is_a_command_of_the_entry_point():
    out = subprocess.run([sys.executable, "-m", "thinkvl.cli", "annotate", "--help"],
                         check=False, capture_output=True, text=True, timeout=120,
                         env={"COLUMNS": "120", "PATH": ""})
    assert out.returncode == 0, out.stderr
    for command in ("serve", "migrate", "import", "export", "screenshot", "user", "project"):
        assert f" {command} " in out.stdout, out.stdout


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_set_up_a_project_from_the_command_line(db_url, tmp_path):
    r = cli("migrate", "--db", db_url)
    assert r.exit_code == 0 and "migrated empty → 0002" in r.output  # 0002: login sessions
    assert "schema up to date" in cli("migrate", "--db", db_url).output
    r = cli("user", "add", "root", "--admin", "--password-stdin", "--db", db_url,
            input="a-long-password\n")
    assert r.exit_code == 0 and "created root (site admin)" in r.output
    r = cli("user", "add", "ann", "--db", db_url, input="ann-password\nann-password\n")
    assert r.exit_code == 0, r.output
    r = cli("user", "add", "ann", "--password-stdin", "--db", db_url, input="x-password\n")
    assert r.exit_code == 2 and "user 'ann' exists already" in r.stderr
    r = cli("user", "add", "eve", "--password-stdin", "--db", db_url, input="short\n")
    assert r.exit_code == 2 and "at least 8 characters" in r.stderr
    r = cli("project", "create", "--config", str(EXAMPLE_CONFIG), "--slug", "cine",
            "--db", db_url)
    assert r.exit_code == 0 and "created project cine (7 fields)" in r.output
    r = cli("member", "add", "cine", "ann", "--role", "annotator", "--db", db_url)
    assert r.exit_code == 0 and "ann is annotator of cine" in r.output
    r = cli("member", "add", "cine", "ann", "--role", "boss", "--db", db_url)
    assert r.exit_code == 2 and "unknown role 'boss'" in r.stderr
    media = tmp_path / "media"
    synthetic_media(media / "batch", videos=2, images=1)
    (media / "batch" / "readme.txt").write_text("not media")
    r = cli("import", "cine", str(media / "batch"), "--media", str(media), "--db", db_url)
    assert r.exit_code == 0 and "added 3 task(s) to cine" in r.output
    assert "batch/readme.txt: readme.txt: not an image" in r.output  # skipped, with why
    r = cli("import", "cine", str(tmp_path), "--media", str(media), "--db", db_url)
    assert "outside the media folder" in r.output
    r = cli("project", "list", "--db", db_url)
    assert "cine" in r.output and "│ 3 " in r.output
    out = tmp_path / "export"
    r = cli("export", "cine", "--out", str(out), "--media", str(media), "--db", db_url)
    assert r.exit_code == 0 and "exported 0 task(s)" in r.output  # nothing accepted yet
    check = data_check(out)
    assert check.returncode == 0, check.stdout
    r = cli("export", "nope", "--out", str(out), "--media", str(media), "--db", db_url)
    assert r.exit_code == 2 and "no project 'nope'" in r.stderr


def test_bad_config_and_database_are_explained(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nfields:\n  - name: shot\n    type: label\n")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    r = cli("project", "create", "--config", str(bad), "--db", db)
    assert r.exit_code == 2
    assert "bad.yaml: fields[0](shot): field 'shot' has type 'label' but no 'labels'" \
        in " ".join(r.stderr.split())
    r = cli("project", "create", "--config", str(tmp_path / "missing.yaml"), "--db", db)
    assert r.exit_code == 2 and "no such config file" in r.stderr
    r = cli("migrate", "--db", "oracle://scott:tiger@h/db")
    assert r.exit_code == 2 and "unsupported database 'oracle'" in r.stderr
    assert "tiger" not in r.stderr


def test_serve_refuses_bad_settings_with_a_message(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    cases = [
        (["--db", "mysql://x@h/db"], "unsupported database 'mysql'"),
        (["--db", db, "--model", str(tmp_path / "nomodel")], "is not a model folder"),
        (["--db", "postgresql://u:secret@127.0.0.1:9/db"], "cannot connect to"),
    ]
    for args, message in cases:
        r = cli("serve", *args, "--media", str(tmp_path / "media"))
        assert r.exit_code == 2 and message in " ".join(r.stderr.split()), r.output
        assert "secret" not in r.stderr
