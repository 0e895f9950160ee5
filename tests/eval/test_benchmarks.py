"""Fixture files in each published format (MathVista, MMMU, Video-MME, thinkvl records) load,
score with the right family, and run through the tiny model."""

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from evalkit import GEN
from thinkvl.eval.benchmarks import CHOICE, NATIVE, NUMERIC, OPEN, load_benchmark, parse_bench
from thinkvl.eval.config import EvalConfig
from thinkvl.eval.runner import run_config
from thinkvl.eval.scoring import Scorer
from thinkvl.format import make_response


def png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buf, format="PNG")
    return buf.getvalue()


def write_parquet(path, rows):
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    img = {"bytes": png("red"), "path": "x.png"}
    (root / "mathvista").mkdir()
    write_parquet(root / "mathvista" / "testmini.parquet", [
        {"pid": "1", "question": "Which shape is red?", "choices": ["circle", "square"],
         "answer": "square", "answer_type": "text", "precision": None, "unit": None,
         "query": "Hint: pick one.\nQuestion: Which shape is red?\n"
                  "Choices:\n(A) circle\n(B) square",
         "decoded_image": img, "question_type": "multi_choice"},
        {"pid": "2", "question": "How long is it?", "choices": None, "answer": "1.45",
         "answer_type": "float", "precision": 2.0, "unit": "cm", "query": "How long is it (cm)?",
         "decoded_image": img, "question_type": "free_form"},
        {"pid": "3", "question": "How many?", "choices": None, "answer": "3",
         "answer_type": "integer", "precision": None, "unit": None, "query": "How many?",
         "decoded_image": img, "question_type": "free_form"},
    ])
    (root / "mmmu").mkdir()
    none = {f"image_{n}": None for n in range(2, 8)}
    write_parquet(root / "mmmu" / "Art.parquet", [
        {"id": "validation_Art_1", "question": "<image 1> What animal is drawn?",
         "options": "['cat', 'dog', '<image 2>']", "image_1": img,
         **{**none, "image_2": {"bytes": png("blue"), "path": "y.png"}},
         "answer": "B", "question_type": "multiple-choice"},
        {"id": "validation_Art_2", "question": "How many legs? <image 1>", "options": "[]",
         "image_1": img, **none, "answer": "4", "question_type": "open"},
    ])
    vm = root / "videomme"
    (vm / "videos").mkdir(parents=True)
    import av

    with av.open(str(vm / "videos" / "abc.mp4"), "w") as c:
        s = c.add_stream("mpeg4", rate=2)
        s.width = s.height = 64
        s.pix_fmt = "yuv420p"
        for i in range(4):
            pixels = np.full((64, 64, 3), 60 * i, np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    write_parquet(vm / "test.parquet", [
        {"video_id": "001", "duration": "short", "domain": "Knowledge", "sub_category": "x",
         "url": "https://example.invalid/abc", "videoID": "abc", "question_id": "001-1",
         "task_type": "Counting Problem", "question": "How bright does it get?",
         "options": ["A. dark", "B. bright", "C. blue", "D. red"], "answer": "B"},
    ])
    return root


def test_mathvista_loads_with_families(published):
    b = load_benchmark("mathvista", data_root=published)
    fam = {i.id: (i.family, i.answer) for i in b.items}
    assert fam == {"1": (CHOICE, "B"), "2": (NUMERIC, "1.45"), "3": (NUMERIC, "3")}
    part = b.items[0].prompt[0]["content"][0]
    assert part["type"] == "image" and part["image"].startswith("data:image/png;base64,")
    s = Scorer()
    try:
        got = [s.score(i, make_response(p)).correct for i, p in
               zip(b.items, ["square", "1.4512 cm", "3"])]
        assert got == [True, True, True]
        wrong = [s.score(i, make_response(p)).correct for i, p in zip(b.items, ["A", "1.5", "4"])]
        assert wrong == [False, False, False]
    finally:
        s.close()


def test_mmmu_interleaves_images_and_options(published):
    b = load_benchmark(f"mmmu:{published / 'mmmu'}")
    mc, open_ = b.items
    kinds = [p["type"] for p in mc.prompt[0]["content"]]
    assert kinds[0] == "image" and kinds.count("image") == 2  # image 2 sits inside option (C)
    assert mc.family == CHOICE and mc.group == "Art" and open_.family == OPEN
    s = Scorer()
    try:
        assert s.score(mc, "<think>x</think>The answer is (B).").correct
        assert not s.score(mc, "<think>x</think>The answer is (C).").correct
        assert s.score(open_, make_response("4")).correct
        assert not s.score(open_, make_response("")).correct
    finally:
        s.close()


def test_videomme_finds_videos(published):
    b = load_benchmark(f"videomme:{published / 'videomme' / 'test.parquet'}")
    (it,) = b.items
    assert it.prompt[0]["content"][0]["type"] == "video" and it.group == "short"
    assert it.answer == "B" and it.meta["choices"][1] == "bright"
    s = Scorer()
    try:
        assert s.score(it, make_response("B")).correct
        assert s.score(it, make_response("bright")).correct
        assert not s.score(it, make_response("A")).correct
    finally:
        s.close()


def test_records_and_synthetic_loaders(world, eval_file, tmp_path):
    syn = load_benchmark(f"synthetic:{world}", limit=5)
    assert syn.name == "synthetic" and len(syn.items) == 5
    assert all(i.base_dir == str(world) for i in syn.items)
    rec = load_benchmark(f"mine=records:{eval_file}")
    assert rec.name == "mine" and {i.family for i in rec.items} >= {NATIVE, CHOICE}
    with pytest.raises(ValueError, match="no path"):
        parse_bench("mathvista")
    with pytest.raises(ValueError, match="unknown benchmark"):
        parse_bench("nope:/x")
    with pytest.raises(FileNotFoundError):
        load_benchmark(f"mmmu:{tmp_path / 'missing'}")


def test_published_benchmarks_run_through_the_tiny_model(tiny_dir, published, tmp_path):
    cfg = EvalConfig(benches=["mathvista", "mmmu", "videomme"], data_root=str(published),
                     out=str(tmp_path / "run"), generation=GEN, modes=["think", "direct"])
    results = run_config(cfg, str(tiny_dir), progress=False)
    assert [(r.bench, r.mode) for r in results] == [
        (b, m) for b in ("mathvista", "mmmu", "videomme") for m in ("think", "direct")]
    assert [r.overall.n for r in results] == [3, 3, 2, 2, 1, 1]
    assert all(r.overall.failed == 0 for r in results)
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["config"]["generation"]["think_budget"] == GEN.think_budget
    md = (tmp_path / "run" / "results.md").read_text()
    assert "Think vs direct" in md and "| videomme | direct |" in md
    assert (tmp_path / "run" / "samples" / "mmmu.direct.jsonl").exists()
