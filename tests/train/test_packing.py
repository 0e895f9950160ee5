"""Packing: best-fit rows, per-sample positions, no attention across samples, exact loss."""

from __future__ import annotations

import json
import random

import pytest
import torch

from thinkvl.data.io import read_records
from thinkvl.data.packing import Packer, PackItem, collate_packs, make_rope_positions, pack_stream
from thinkvl.model.factory import load_model, load_processor
from thinkvl.model.inputs import IGNORE, Encoded, collate
from thinkvl.train.loss import scale_loss, token_losses
from thinkvl.train.samples import Budget, SampleEncoder, SampleError


def _item(n: int, mod: str = "image") -> PackItem:
    vision = {"pixel_values_videos": torch.zeros(1)} if mod == "video" else {}
    return PackItem(Encoded(list(range(n)), list(range(n)), [0] * n, 0, vision), key=n)


def test_best_fit_rows_are_full_homogeneous_and_lose_nothing():
    rng = random.Random(0)
    items = [_item(rng.randint(5, 120), "video" if rng.random() < 0.15 else "image") for _ in range(3000)]
    packs = list(pack_stream(iter(items), seq_len=512, buffer_tokens=1024))
    assert sorted(id(i) for p in packs for i in p.items) == sorted(id(i) for i in items)
    assert all(p.length <= 512 for p in packs)
    assert all(len({i.modality for i in p.items}) == 1 for p in packs)
    full = packs[:-8]  # the stream's tail is allowed to be ragged
    assert sum(p.length for p in full) / (512 * len(full)) > 0.97


def test_packer_refuses_overlong_samples():
    with pytest.raises(ValueError, match="cannot fit"):
        Packer(16).add(_item(17))


@pytest.fixture(scope="module")
def model_and_items(world, tiny):
    torch.manual_seed(0)
    model = load_model(tiny).train()
    processor = load_processor(tiny)
    positions = make_rope_positions(model)
    budget = Budget(seq_len=2048, max_image_tokens=256, max_video_tokens=512)
    sft = SampleEncoder(processor, "sft", budget, positions)
    pre = SampleEncoder(processor, "pretrain", budget, positions)
    images, videos = [], []
    for rec in read_records(world / "sft.jsonl"):
        item = sft(rec)
        (videos if item.modality == "video" else images).append(item)
    texts = [pre(r) for r in read_records(world / "pretrain.jsonl") if r.get("kind") in ("text", "interleaved")]
    return model, processor, images[:3] + texts[:2], videos[:3]


def _grads(model) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


@pytest.mark.parametrize("kind", ["image", "video"])
def test_packed_equals_unpacked_loss_and_gradient(model_and_items, kind):
    """One packed row gives the same per-token losses and gradient as the model's ordinary
    padded batch (attention mask, positions computed by the model itself)."""
    model, processor, images, videos = model_and_items
    items = images if kind == "image" else videos
    pad = processor.tokenizer.pad_token_id

    model.zero_grad()
    padded = collate([i.sample for i in items], pad, padding_side="right")
    labels = padded.pop("labels")
    for r, item in enumerate(items):  # packing clears each sample's first label (never a target)
        labels[r, 0] = IGNORE
    logits = model(**padded, use_cache=False).logits[:, :-1]
    mask = labels[:, 1:] != IGNORE
    ref = torch.nn.functional.cross_entropy(logits[mask].float(), labels[:, 1:][mask], reduction="sum")
    ref_tokens = int(mask.sum())
    (ref / ref_tokens).backward()
    ref_grad = _grads(model).clone()

    model.zero_grad()
    from thinkvl.data.packing import Pack

    batch = collate_packs([Pack(list(items), 4096)], pad)
    assert batch["position_ids"].shape[0] == 4  # text row + 3-D multimodal positions
    ce, sample = token_losses(model, batch)
    assert ce.numel() == ref_tokens
    loss = scale_loss(ce, sample, "token", total_tokens=ref_tokens, total_samples=len(items))
    loss.backward()
    assert ce.sum().item() == pytest.approx(ref.item(), rel=1e-5)
    assert torch.allclose(_grads(model), ref_grad, atol=1e-5, rtol=1e-4)


def test_no_attention_across_packed_samples(model_and_items):
    model, processor, images, _ = model_and_items
    from thinkvl.data.packing import Pack

    a, b = images[0], images[1]
    pad = processor.tokenizer.pad_token_id
    with torch.no_grad():
        ce1, s1 = token_losses(model, collate_packs([Pack([a, b], 4096)], pad))
        changed = PackItem(Encoded([t if t == pad else (t + 1) % 200 + 50 if m == 0 else t
                                    for t, m in zip(a.sample.input_ids, a.sample.mm_token_type_ids)],
                                   a.sample.labels, a.sample.mm_token_type_ids, 0, a.sample.vision), a.positions)
        ce2, s2 = token_losses(model, collate_packs([Pack([changed, b], 4096)], pad))
    assert torch.allclose(ce1[s1 == 1], ce2[s2 == 1], atol=1e-6)  # b does not see a


def test_micro_batch_split_equals_full_batch(model_and_items):
    """Per-sample normalisation over micro-batches accumulates to the full-batch gradient."""
    model, processor, images, _ = model_and_items
    from thinkvl.data.packing import Pack

    pad = processor.tokenizer.pad_token_id
    model.zero_grad()
    ce, s = token_losses(model, collate_packs([Pack(list(images), 4096)], pad))
    scale_loss(ce, s, "sample", ce.numel(), len(images)).backward()
    full = _grads(model).clone()
    model.zero_grad()
    for part in (images[:2], images[2:]):
        ce, s = token_losses(model, collate_packs([Pack(list(part), 4096)], pad))
        scale_loss(ce, s, "sample", 0, len(images)).backward()
    assert torch.allclose(_grads(model), full, atol=1e-6, rtol=1e-4)


def test_budgets_and_bad_samples(world, tiny, tmp_path):
    processor = load_processor(tiny)
    rec = json.loads((world / "sft.jsonl").read_text().splitlines()[0])
    rec["_source"] = f"{world / 'sft.jsonl'}:1"
    # images are resized to the budget, never over it
    enc = SampleEncoder(processor, "sft", Budget(seq_len=512, max_image_tokens=4, max_video_tokens=64))
    item = enc(rec)
    assert int(item.sample.vision["image_grid_thw"].prod()) // 4 <= 4
    with pytest.raises(SampleError, match="too_long"):
        SampleEncoder(processor, "sft", Budget(seq_len=20, max_image_tokens=4, max_video_tokens=8))(rec)
    broken = json.loads(json.dumps(rec))
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    broken["messages"][0]["content"][0]["image"] = str(tmp_path / "bad.png")
    with pytest.raises(SampleError, match="bad_media"):
        enc(broken)


def test_skip_and_count_bad_media(world, tiny, tmp_path):
    from thinkvl.train.data import ShardFeed

    processor = load_processor(tiny)
    lines = (world / "sft.jsonl").read_text().splitlines()[:20]
    recs = [json.loads(x) for x in lines]
    (world / "media" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    for r in recs[:3]:
        r["messages"][0]["content"][0]["image"] = "media/corrupt.png"
    path = world / "sft_with_bad.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    enc = SampleEncoder(processor, "sft", Budget(seq_len=512, max_image_tokens=64, max_video_tokens=256))
    kwargs = {"seq_len": 512, "buffer_tokens": 512, "shuffle_seed": None, "buffer_size": 100,
              "skip_invalid": False}
    with pytest.raises(SampleError, match="corrupt.png"):
        ShardFeed(path, 0, 1, enc, skip_bad_samples=False, **kwargs).next_pack()
    feed = ShardFeed(path, 0, 1, enc, skip_bad_samples=True, **kwargs)
    for _ in range(3):
        feed.next_pack()
    counts = feed.skip_counts()
    assert counts["bad_media"] >= 3


def test_training_encoding_matches_generation_encoding(world, tiny):
    """SFT samples are tokenized exactly as generation / RL / evaluation see their prompts."""
    from thinkvl.model.inputs import encode_sample, split_chat

    processor = load_processor(tiny)
    enc = SampleEncoder(processor, "sft", Budget(seq_len=4096, max_image_tokens=6144, max_video_tokens=4000))
    recs = list(read_records(world / "sft.jsonl"))
    picks = [next(r for r in recs if r["domain"] == d) for d in ("counting", "video", "gui")]
    for rec in picks:
        mine = enc(rec).sample
        prompt, completion = split_chat(rec["messages"])
        ref = encode_sample(processor, prompt, completion, base_dir=world)
        assert mine.input_ids == ref.input_ids and mine.labels == ref.labels
        assert mine.mm_token_type_ids == ref.mm_token_type_ids
        assert all(torch.equal(mine.vision[k], ref.vision[k]) for k in ref.vision)
