"""Issue 20, finding 11: at `thinkvl demo --per-domain 20` the world holds interleaved records
longer than the recipe's 256-token rows (261, 286 and 337 tokens), and pre-training stopped with
a traceback. The demo recipes now skip and count such records; without skipping, the CLI says
which record (FILE:LINE) and how to fix it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from thinkvl.model.factory import load_processor
from thinkvl.train.data import StepFeed
from thinkvl.train.pretrain import load_pretrain_config
from thinkvl.train.samples import Budget, SampleEncoder, SampleError


@pytest.fixture(scope="module")
def world20(tmp_path_factory):
    from thinkvl.data.synthetic import generate_world

    out = tmp_path_factory.mktemp("world20")
    generate_world(out, per_domain=20, seed=0, levels=(1, 2, 3, 4), image_size=64, progress=False)
    return out


def _feed(cfg, tiny):
    d = cfg.data
    enc = SampleEncoder(load_processor(tiny), "pretrain",
                        Budget(d.seq_len, d.max_image_tokens, d.max_video_tokens, d.video_fps,
                               d.min_frame_pair_tokens))
    return StepFeed(d.train, rank=0, world_size=1, shards=1, packs_per_step=1, encode=enc,
                    seq_len=d.seq_len, buffer_tokens=d.seq_len * 2, shuffle_seed=None,
                    buffer_size=1000, skip_invalid=d.skip_invalid, skip_bad_samples=d.skip_bad_media)


def test_the_demo_recipe_reads_its_whole_world(world20, tiny):
    cfg = load_pretrain_config("demo_pretrain", [f"data.train={world20 / 'pretrain.jsonl'}",
                                                 f"model.path={tiny}"])
    feed = _feed(cfg, tiny)
    for _ in range(60):  # 160 records at ~4 per row: more than an epoch
        feed.next_step()
    assert feed.skip_counts().get("too_long", 0) >= 1


def test_without_skipping_the_cli_names_the_record(world20, tiny, tmp_path):
    from thinkvl.cli import app

    cfg = load_pretrain_config("demo_pretrain", [f"data.train={world20 / 'pretrain.jsonl'}",
                                                 f"model.path={tiny}", "data.skip_bad_media=false"])
    feed = _feed(cfg, tiny)
    with pytest.raises(SampleError, match=r"pretrain.jsonl:\d+: too_long: .*skip_bad_media"):
        for _ in range(60):
            feed.next_step()
    res = CliRunner().invoke(app, [
        "pretrain", "--config", "demo_pretrain", "--set", f"data.train={world20 / 'pretrain.jsonl'}",
        "--set", f"model.path={tiny}", "--set", "data.skip_bad_media=false",
        "--set", "train.steps=40", "--set", "run.save_every=0", "--set", "run.progress=false",
        "--set", "run.sinks=[jsonl]", "--set", "data.shuffle=false", "--out", str(tmp_path / "run")],
        env={"COLUMNS": "300"})
    assert res.exit_code == 2, res.output
    assert "pretrain stopped:" in res.output and "too_long" in res.output
    assert "Traceback" not in res.output
