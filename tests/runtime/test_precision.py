"""fp32 master weights whatever the checkpoint's dtype: a bf16 checkpoint trains at RL learning
rates, the optimizer refuses bf16 parameters, checkpoints are written in the start model's dtype
and a resumed run continues from the exact fp32 weights."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from thinkvl.model.factory import load_model, load_processor
from thinkvl.runtime import checkpoint as ckpt
from thinkvl.runtime.optim import OptimConfig, PrecisionError, build_optimizer
from thinkvl.runtime.precision import load_for_training, resolve_save_dtype, saved_dtype


def _prompt(color, text):
    return [{"role": "user", "content": [{"type": "image", "image": Image.new("RGB", (64, 48), color)},
                                         {"type": "text", "text": text}]}]


def _moved(before: dict, model) -> float:
    """Share of trainable parameter elements that changed."""
    changed = total = 0
    for name, p in model.named_parameters():
        if p.requires_grad:
            changed += int((p.detach().float() != before[name].float()).sum())
            total += p.numel()
    return changed / total


def test_the_bf16_copy_is_what_a_public_checkpoint_is(tiny_bf16):
    assert saved_dtype(tiny_bf16) == "bfloat16"
    assert next(load_model(tiny_bf16).parameters()).dtype == torch.bfloat16  # dtype="auto"
    assert next(load_for_training(tiny_bf16).parameters()).dtype == torch.float32
    assert resolve_save_dtype("auto", tiny_bf16) == torch.bfloat16
    assert resolve_save_dtype("float32", tiny_bf16) == torch.float32


def test_optimizer_refuses_bf16_parameters(tiny_bf16):
    with pytest.raises(PrecisionError, match="fp32 master weights"):
        build_optimizer(load_model(tiny_bf16), OptimConfig(), total_steps=1)


def test_one_rl_update_at_lr_1e6_moves_a_bf16_checkpoint(tiny_bf16):
    """The issue's measurement: on bf16 weights one AdamW step at 1e-6 moved 1.6% of elements;
    on the fp32 masters thinkvl trains, nearly every element with a gradient moves."""
    from thinkvl.model.generate import generate_groups
    from thinkvl.model.settings import GenerationSettings
    from thinkvl.rl.actor import Actor
    from thinkvl.rl.batch import split

    processor = load_processor(tiny_bf16)
    model = load_for_training(tiny_bf16)
    torch.manual_seed(0)
    prompts = [_prompt(c, t) for c, t in (("red", "How many red squares are there?"),
                                           ("blue", "Which direction does the square move?"))]
    groups = generate_groups(model.eval(), processor, prompts, 4, GenerationSettings(temperature=1.0, think_budget=12, answer_budget=4))
    samples = [c.sample for g in groups for c in g]
    advantages = [1.0 if i % 2 else -1.0 for i in range(len(samples))]
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    Actor(model, processor.tokenizer.pad_token_id, optim=OptimConfig(lr=1e-6, weight_decay=0.0)).update(
        split(samples, advantages, [i // 4 for i in range(len(samples))]))
    moved = _moved(before, model)
    print(f"elements moved by one update at lr 1e-6: {moved:.3f}")
    assert moved >= 0.9


def test_sft_from_a_bf16_checkpoint_trains_fp32_masters_and_saves_bf16(tiny_bf16, tmp_path):
    from thinkvl.data.synthetic import generate_world
    from thinkvl.train.sft import load_sft_config, run_sft

    generate_world(tmp_path / "world", per_domain=8, seed=0, domains=["counting"], progress=False)
    cfg = load_sft_config("demo_sft", [
        f"model.path={tiny_bf16}", f"data.train={tmp_path / 'world' / 'sft.jsonl'}", "train.steps=1",
        "optim.lr=1e-6", "optim.warmup_steps=0", "optim.vision_lr_scale=1.0", f"run.out={tmp_path / 'run'}",
        "run.progress=false", "run.sinks=[jsonl]"])
    final = run_sft(cfg)
    assert saved_dtype(final) == "bfloat16"  # written as the start model was
    step = ckpt.latest_checkpoint(tmp_path / "run")
    from safetensors.torch import load_file

    masters = load_file(str(step / ckpt.MASTER_FILE))
    assert all(v.dtype == torch.float32 for v in masters.values())
    start = load_for_training(tiny_bf16).state_dict()
    changed = sum(int((masters[k] != start[k]).sum()) for k in masters)
    total = sum(v.numel() for v in masters.values())
    print(f"elements moved by one SFT step at lr 1e-6: {changed / total:.3f}")
    assert changed / total >= 0.9


def test_resume_restores_the_exact_fp32_masters_not_the_bf16_copy(tiny, tmp_path):
    model = load_for_training(tiny)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1e-6)  # below bf16's resolution: lost if the run resumed from model/
    optimizer, scheduler = build_optimizer(model, OptimConfig(), total_steps=4)
    path = ckpt.save_checkpoint(tmp_path, 1, model, load_processor(tiny), optimizer, scheduler,
                                dtype=torch.bfloat16)
    config = json.loads((path / "model" / "config.json").read_text())
    assert config["dtype"] == "bfloat16" and next(load_model(path / "model").parameters()).dtype == torch.bfloat16
    fresh = load_for_training(tiny)
    optimizer2, scheduler2 = build_optimizer(fresh, OptimConfig(), total_steps=4)
    ckpt.load_checkpoint(path, fresh, optimizer2, scheduler2)
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), name
