"""The world as files: determinism, counts, media, schema and held-out evaluation."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from synth_helpers import PER_DOMAIN, load_jsonl
from PIL import Image

from thinkvl.data.synthetic import DOMAINS, generate_world, split_sizes

FILES = ("pretrain.jsonl", "sft.jsonl", "rl_train.jsonl", "rl_eval.jsonl")


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _media_items(rec: dict) -> list[dict]:
    msgs = rec.get("prompt") or rec.get("messages") or []
    return [part for m in msgs if isinstance(m["content"], list) for part in m["content"]
            if part["type"] in ("image", "video")]


def _media_paths(root: Path, item: dict) -> list[Path]:
    if item["type"] == "image":
        return [root / item["image"]]
    return sorted((root / item["video"]).glob("frame_*.png"))


def _content_hash(root: Path, item: dict) -> str:
    h = hashlib.sha1()
    for p in _media_paths(root, item):
        h.update(np.asarray(Image.open(p).convert("RGB")).tobytes())
    return h.hexdigest()


def _question(rec: dict) -> str:
    msgs = rec.get("prompt") or rec["messages"]
    text = next(p["text"] for p in msgs[0]["content"] if p["type"] == "text")
    return text.removesuffix(" /nothink")


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_world(a, per_domain=6, seed=3, progress=False)
    generate_world(b, per_domain=6, seed=3, progress=False)
    generate_world(c, per_domain=6, seed=4, progress=False)
    ta, tb = _tree(a), _tree(b)
    assert ta.keys() == tb.keys()
    assert [k for k in ta if ta[k] != tb[k]] == []
    assert (c / "rl_train.jsonl").read_bytes() != (a / "rl_train.jsonl").read_bytes()


def test_rerun_into_same_folder_leaves_no_stale_media(tmp_path: Path) -> None:
    generate_world(tmp_path, per_domain=20, seed=0, domains=["counting"], progress=False)
    generate_world(tmp_path, per_domain=4, seed=0, domains=["counting"], progress=False)
    referenced = {item["image"] for f in FILES for r in load_jsonl(tmp_path / f)
                  for item in _media_items(r)}
    on_disk = {str(p.relative_to(tmp_path)) for p in (tmp_path / "media").rglob("*.png")}
    assert on_disk == referenced


def test_manifest_counts_match_files(world, records) -> None:
    out, manifest = world
    assert manifest["seed"] == 7 and manifest["image_size"] == 64
    assert manifest["domains"] == list(DOMAINS)
    sizes = split_sizes(PER_DOMAIN)
    assert sizes["rl_eval.jsonl"] == 16
    for name in FILES:
        recs = records[name.removesuffix(".jsonl")]
        counts = manifest["files"][name]
        assert counts["total"] == len(recs)
        for d in DOMAINS:
            n = sum(r["id"].startswith(f"{d}-") for r in recs)
            assert counts["by_domain"][d] == n == sizes[name]
    media = sum(len(_media_paths(out, it)) for rs in records.values() for r in rs
                for it in _media_items(r))
    assert manifest["media_files"] == media


def test_records_are_valid_and_media_exists(world, records) -> None:
    schema = pytest.importorskip("thinkvl.data.schema")
    out, _ = world
    for name, recs in records.items():
        ids = [r["id"] for r in recs]
        assert len(set(ids)) == len(ids), name
        for r in recs:
            problems = [p for p in schema.validate_record(r, base_dir=out) if p.is_error]
            assert problems == [], (r["id"], problems)
            for item in _media_items(r):
                paths = _media_paths(out, item)
                assert paths and all(p.is_file() for p in paths), r["id"]
                if item["type"] == "video":
                    assert len(paths) % 2 == 0 and len(paths) >= 4
                    assert [p.name for p in paths] == [f"frame_{i:03d}.png"
                                                       for i in range(len(paths))]
                assert all(Image.open(p).size == (64, 64) for p in paths)


def test_rl_records_shape(records) -> None:
    for name in ("rl_train", "rl_eval"):
        for r in records[name]:
            assert set(r) == {"id", "domain", "prompt", "answer", "meta"}, r["id"]
            assert r["domain"] in DOMAINS and r["id"].startswith(r["domain"] + "-")
            assert r["meta"]["level"] in (1, 2, 3, 4)
    levels = [r["meta"]["level"] for r in records["rl_train"]]
    assert all(levels.count(lv) == len(levels) // 4 for lv in (1, 2, 3, 4))


def test_eval_is_held_out(world, records) -> None:
    out, _ = world
    def keys(name: str, with_question: bool = True) -> set[str]:
        got = set()
        for r in records[name]:
            for item in _media_items(r):
                h = _content_hash(out, item)
                got.add(h + "|" + _question(r) if with_question else h)
        return got
    held = keys("rl_eval")
    assert len(held) == len(records["rl_eval"])  # eval items are unique too
    assert not held & keys("rl_train")
    assert not held & keys("sft")
    assert not keys("rl_eval", False) & keys("rl_train", False)  # nor its images
    assert not keys("rl_eval", False) & keys("sft", False)
    assert not keys("rl_eval", False) & keys("pretrain", False)


def test_eval_images_are_never_trained_on_even_under_another_question(tmp_path: Path) -> None:
    # Counting at level 1 draws from a small image space with three question templates: with
    # 50 eval and 400 training records some training draws repeat an eval image under another
    # template (6 of 50 eval records did before training was de-duplicated by image content).
    manifest = generate_world(tmp_path, per_domain=200, seed=0, domains=["counting"], levels=(1,),
                              progress=False)
    def files(name: str) -> set[str]:  # hashes of the image files' bytes
        return {hashlib.sha1(p.read_bytes()).hexdigest() for r in load_jsonl(tmp_path / f"{name}.jsonl")
                for item in _media_items(r) for p in _media_paths(tmp_path, item)}
    held = files("rl_eval")
    assert len(held) > 40  # nearly every eval record has its own image
    assert not held & files("rl_train"), "an rl_eval image file is byte-identical to an rl_train one"
    assert not held & files("sft"), "an rl_eval image file is byte-identical to an sft one"
    assert manifest["redrawn_eval_collisions"]["counting"] > 0  # the draws that hit one were redrawn


def test_other_image_size(tmp_path: Path) -> None:
    generate_world(tmp_path, per_domain=2, seed=0, domains="ocr,video", image_size=96,
                   progress=False)
    for p in list((tmp_path / "media").rglob("*.png"))[:20]:
        assert Image.open(p).size == (96, 96)


def test_unknown_domain_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown domain.*'bogus'.*counting"):
        generate_world(tmp_path, per_domain=2, domains=["counting", "bogus"], progress=False)

