"""Issue 20, finding 7: `data check` and `reward score` on malformed input, and media that must
decode and stay inside the media roots. Every bad line is FILE:LINE with exit 1; nothing ever
ends in a traceback."""

from __future__ import annotations

import io
import json
import os
import random
import struct
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from thinkvl.cli import app
from thinkvl.data.io import read_records
from thinkvl.data.schema import RecordError

RESPONSE = "<think>x</think><answer><|begin_of_box|>3<|end_of_box|></answer>"
MALFORMED = {
    "lone surrogate": '{"id": "\\ud800", "domain": "counting", "prompt": [{"role": "user", '
                      '"content": "q"}], "answer": 3}',
    "100k-deep nesting": '{"id": "d", "domain": "counting", "prompt": [{"role": "user", '
                         '"content": "q"}], "answer": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "5,000-digit integer": '{"id": "b", "domain": "counting", "prompt": [{"role": "user", '
                           '"content": "q"}], "answer": ' + "9" * 5000 + "}",
    "NaN answer": '{"id": "n", "domain": "counting", "prompt": [{"role": "user", '
                  '"content": "q"}], "answer": NaN}',
    "invalid UTF-8": b'{"id": "\xff\xfe", "domain": "counting"}',
}


def _png(size=(8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (9, 99, 199)).save(buf, "PNG")
    return buf.getvalue()


def _bomb_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b""))


def _mp4(path: Path) -> None:
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=4)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        for i in range(4):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 40, np.uint8),
                                               format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _rl(i: int, image: str) -> str:
    return json.dumps({"id": f"r{i}", "domain": "counting", "answer": 3, "prompt": [
        {"role": "user", "content": [{"type": "image", "image": image},
                                     {"type": "text", "text": "How many?"}]}]})


def _check(*args: str):
    res = CliRunner().invoke(app, ["data", "check", *args], env={"COLUMNS": "250"})
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output
    return res


def test_malformed_lines_are_located_not_crashes(tmp_path):
    data = tmp_path / "rl.jsonl"
    lines = [v.encode() if isinstance(v, str) else v for v in MALFORMED.values()]
    data.write_bytes(b"\n".join(lines) + b"\n")
    res = _check(str(data))
    assert res.exit_code == 1
    for n in range(1, len(lines) + 1):
        assert f"{data}:{n}: " in res.output, (n, res.output)
    assert "lone surrogate" in res.output and "nested too deeply" in res.output
    assert "4,300" in res.output and "NaN is not JSON" in res.output
    for i, line in enumerate(lines):  # and `reward score`, one bad line per file
        scored = tmp_path / f"s{i}.jsonl"
        rec = line.replace(b'"prompt": [{"role": "user", "content": "q"}]',
                           b'"response": "' + RESPONSE.encode() + b'"')
        scored.write_bytes(rec + b"\n")
        res = CliRunner().invoke(app, ["reward", "score", str(scored), "-o",
                                       str(tmp_path / "out.jsonl")])
        assert res.exit_code == 1 and f"{scored}:1: " in res.output, (i, res.output)
        assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit)


def test_data_check_decodes_and_confines_every_medium(tmp_path):
    data_dir, outside = tmp_path / "data", tmp_path / "elsewhere"
    data_dir.mkdir()
    outside.mkdir()
    (data_dir / "good.png").write_bytes(_png())
    (data_dir / "truncated.png").write_bytes(_png()[:40])
    (data_dir / "text.png").write_bytes(b"not an image at all, just words")
    (data_dir / "bomb.png").write_bytes(_bomb_png(20000, 20000))
    (data_dir / "empty.mp4").write_bytes(b"")
    _mp4(data_dir / "ok.mp4")
    (outside / "secret.png").write_bytes(_png())
    (data_dir / "link.png").symlink_to(outside / "secret.png")
    refs = ["good.png", "truncated.png", "text.png", "bomb.png", "/etc/passwd",
            "file:///etc/shadow", "link.png", "/proc/self/environ", "../elsewhere/secret.png",
            str(outside / "secret.png")]
    lines = [_rl(i, ref) for i, ref in enumerate(refs)]
    for name in ("empty.mp4", "ok.mp4"):
        lines.append(json.dumps({"id": name, "kind": "video", "video": name, "messages": [
            {"role": "user", "content": [{"type": "video", "video": name}]}]}))
    file = data_dir / "mixed.jsonl"
    file.write_text("\n".join(lines) + "\n")
    res = _check(str(file))
    assert res.exit_code == 1
    bad = {int(line.split(":")[1]) for line in res.output.splitlines()
           if line.startswith(f"{file}:")}
    assert bad == set(range(2, 12)), res.output  # all but good.png and ok.mp4
    out = res.output
    assert "not a decodable image" in out  # truncated, and text named .png
    assert ("decompression bomb" in out) or ("pixel limit" in out)
    assert "outside the media roots" in out and "is empty" in out  # links, /etc, /proc; mp4
    # an allowed root makes the outside image fine (still resolved and decoded)
    res = _check(str(file), "--media-root", str(outside))
    bad = {int(line.split(":")[1]) for line in res.output.splitlines()
           if line.startswith(f"{file}:")}
    assert 7 not in bad and 9 not in bad and 10 not in bad and 5 in bad


def test_training_reads_confine_media_too(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.png").write_bytes(_png())
    (tmp_path / "data").mkdir()
    file = tmp_path / "data" / "rl.jsonl"
    file.write_text(_rl(0, "../elsewhere/x.png") + "\n")
    with pytest.raises(RecordError, match=rf"{file}:1: .*outside the media roots"):
        list(read_records(file, kind="rl"))
    assert len(list(read_records(file, kind="rl", media_roots=(tmp_path / "elsewhere",)))) == 1


def test_fuzzed_lines_never_crash_either_cli(tmp_path):
    """Random mutations of valid lines: exit 0 or 1, a FILE:LINE for each bad line, never a
    traceback."""
    rng = random.Random(7)
    base = [_rl(0, "good.png"), json.dumps({"response": RESPONSE, "answer": 3,
                                            "domain": "counting"})]
    (tmp_path / "good.png").write_bytes(_png())
    junk = ["\\ud800", "NaN", "[" * 3000, "9" * 4400, "\x00", "\\u0000", "{", "}", '"', ",",
            "null", "-1e999", "\udcff", "🙂", "\\", "\n"]
    for k in range(40):
        lines = []
        for _ in range(5):
            text = rng.choice(base)
            for _ in range(rng.randint(1, 3)):
                pos = rng.randint(0, len(text))
                text = text[:pos] + rng.choice(junk) + text[pos + rng.randint(0, 3):]
            lines.append(text.encode("utf-8", "surrogateescape"))
        file = tmp_path / f"f{k}.jsonl"
        file.write_bytes(b"\n".join(lines) + b"\n")
        res = _check(str(file))
        assert res.exit_code in (0, 1)
        res = CliRunner().invoke(app, ["reward", "score", str(file), "-o",
                                       str(tmp_path / "o.jsonl"), "--skip-bad"])
        assert res.exit_code in (0, 1) and "Traceback" not in res.output
        assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert os.path.exists(tmp_path / "o.jsonl")
