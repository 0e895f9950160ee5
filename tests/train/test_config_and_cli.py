"""Recipes, overrides, the commands' argument handling, and small loop helpers."""

from __future__ import annotations

import math

import pytest

from thinkvl.config import ConfigError, load_config
from thinkvl.data.packing import Pack, PackItem, collate_packs
from thinkvl.model.inputs import Encoded
from thinkvl.train.config import PretrainConfig, SFTConfig
from thinkvl.runtime.optim import is_vision_param, lr_lambda
from thinkvl.train.loop import SupervisedTrainer, micro_batches

RECIPES = [("pretrain", PretrainConfig, 8192), ("pretrain_long", PretrainConfig, 32768),
           ("sft", SFTConfig, 32768), ("demo_pretrain", PretrainConfig, 256), ("demo_sft", SFTConfig, 256)]


@pytest.mark.parametrize("name,model,seq_len", RECIPES)
def test_recipes_load(name, model, seq_len):
    cfg = load_config(model, f"configs/{name}.yaml")
    assert cfg.data.seq_len == seq_len
    assert cfg.data.max_image_tokens <= 6144 and cfg.data.max_video_tokens <= 48000


def test_budget_must_fit_seq_len_and_unknown_keys_fail():
    with pytest.raises(ConfigError, match="max_video_tokens"):
        load_config(PretrainConfig, "demo_pretrain", ["data.max_video_tokens=4096"])
    with pytest.raises(ConfigError, match="unknown config key"):
        load_config(SFTConfig, "demo_sft", ["train.stepz=3"])


def test_module_entry_reports_config_errors(capsys):
    from thinkvl.train.__main__ import main

    assert main(["pretrain", "--config", "demo_pretrain", "train.bogus=1"]) == 2
    assert "unknown config key" in capsys.readouterr().err
    assert main(["sft", "--config", "demo_sft", "--set", "optim.lr=-1"]) == 2
    assert "optim.lr" in capsys.readouterr().err


def test_refuses_to_overwrite_a_run_without_resume(tmp_path):
    step = tmp_path / "checkpoints" / "step_000001"
    (step / "model").mkdir(parents=True)
    (step / "model" / "config.json").write_text("{}")
    (step / "trainer_state.pt").write_bytes(b"")
    cfg = load_config(SFTConfig, "demo_sft", [f"run.out={tmp_path}"])
    from thinkvl.runtime.distributed import DistInfo

    with pytest.raises(FileExistsError, match="--resume"):
        SupervisedTrainer(cfg, DistInfo())


def test_lr_schedule():
    assert lr_lambda(0, 100, 10, "cosine", 0.1) == pytest.approx(0.1)
    assert lr_lambda(10, 100, 10, "cosine", 0.1) == pytest.approx(1.0)
    assert lr_lambda(100, 100, 10, "cosine", 0.1) == pytest.approx(0.1)
    assert lr_lambda(55, 100, 10, "cosine", 0.0) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_lambda(50, 100, 0, "constant", 0.1) == 1.0


def _item(n, video=False, vision=True):
    vis = {"pixel_values_videos": None} if video else ({"pixel_values": None} if vision else {})
    return PackItem(Encoded(list(range(1, n + 1)), list(range(1, n + 1)), [0] * n, 0, vis))


def test_micro_batches_never_mix_images_and_video():
    packs = [Pack([_item(3, video=v)], 8) for v in (False, True, False, True, False)]
    plan = micro_batches(packs, 2)
    assert all(len({p.modality for p in mb}) == 1 for mb in plan)
    assert sorted(len(mb) for mb in plan) == [1, 2, 2]


def test_filler_only_joins_batches_without_vision():
    import torch

    filler = PackItem(Encoded([7, 8, 9], [-100] * 3, [0, 1, 0], 3,
                              {"pixel_values": torch.zeros(4, 2), "image_grid_thw": torch.tensor([[1, 2, 2]])}))
    text = collate_packs([Pack([_item(4, vision=False), _item(2, vision=False)], 8)], 0, filler=filler)
    assert text["input_ids"].shape == (1, 9) and "pixel_values" in text
    assert text["sample_index"][0].tolist() == [0, 0, 0, 0, 1, 1, -1, -1, -1]
    assert (text["labels"][0, 6:] == -100).all()
    assert text["position_ids"][0].tolist() == [0, 1, 2, 3, 0, 1, 0, 1, 2]  # restarts per sample
    img = Pack([PackItem(Encoded([1, 2], [1, 2], [0, 1], 0, {"pixel_values": torch.zeros(4, 2),
                                                               "image_grid_thw": torch.tensor([[1, 2, 2]])}))], 8)
    assert collate_packs([img], 0, filler=filler)["input_ids"].shape == (1, 2)


def test_vision_parameter_names():
    assert is_vision_param("model.visual.blocks.0.attn.qkv.weight")
    assert is_vision_param("vision_tower.encoder.layer.weight")
    assert not is_vision_param("model.language_model.layers.0.mlp.up_proj.weight")
