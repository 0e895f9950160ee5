"""Processor outputs: the declared keys are exactly what the processor returns, and samples encoded
one by one and put together by ``adapter.collate`` give each sample the logits it has alone."""

from __future__ import annotations

import pytest
import torch
from family_helpers import chat, encode, frames, image

from thinkvl.model.families import FAMILIES
from thinkvl.model.families.base import TOKEN_FIELDS
from thinkvl.model.families.batching import Unit


def image_samples(adapter) -> list[dict]:
    return [encode(adapter, images=[image(64, 48)]),
            encode(adapter, images=[image(40, 64, "blue"), image(64, 64, "green")], text="Which is bigger?")]


def video_samples(adapter) -> list[dict]:
    if not adapter.takes_video:
        return []
    # LLaVA-OneVision's videos need equal frame counts in a batch (test_unequal_frame_counts_…)
    second = 4 if adapter.name == "llava_onevision" else 2
    return [encode(adapter, videos=[frames(4)], fps=1.0), encode(adapter, videos=[frames(second, 48)], fps=4.0,
                                                                  text="Where?")]


def batches(adapter) -> list[list[dict]]:
    """Samples one forward pass may hold together (``mixed_media``: images and videos at once)."""
    images, videos = image_samples(adapter), video_samples(adapter)
    text = [encode(adapter, text="No picture here, just words.")]
    if adapter.mixed_media:
        mixed = [encode(adapter, images=[image()], videos=[frames(4)])] if adapter.takes_video else []
        return [images + videos + text + mixed]
    return [images + text, videos] if videos else [images + text]


@pytest.mark.parametrize("name", FAMILIES)
def test_declared_fields_are_exactly_what_the_processor_returns(tiny, name):
    _, _, adapter = tiny.load(name)
    seen = {k for batch in batches(adapter) for sample in batch for k in sample}
    if name == "gemma3":  # pan-and-scan (asked for per call) adds crops, and no new key
        processor = adapter.processor
        text = processor.apply_chat_template(chat(1), add_generation_prompt=True, tokenize=False)
        wide = processor(text=[text], images=[[image(160, 48)]], do_pan_and_scan=True, pan_and_scan_min_crop_size=16,
                         return_tensors="pt", add_special_tokens=False)
        assert adapter.vision_tokens(wide["input_ids"]) > processor.image_seq_length  # crops were added
        seen |= set(wide)
    assert seen == set(TOKEN_FIELDS) | set(adapter.fields)


@pytest.mark.parametrize("name", FAMILIES)
def test_collated_batch_gives_each_sample_its_own_logits(tiny, name):
    model, _, adapter = tiny.load(name)
    for samples in batches(adapter):
        batch = adapter.collate(samples)
        with torch.no_grad():
            together = model(**batch).logits
            for row, sample in enumerate(samples):
                alone = model(**sample).logits[0]
                n = alone.shape[0]
                assert batch["attention_mask"][row, :n].all() and not batch["attention_mask"][row, n:].any()
                torch.testing.assert_close(together[row, :n], alone, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", FAMILIES)
def test_collate_equals_the_processor_batching_several_samples_itself(tiny, name):
    """The processor's own batch of the two image samples (nested image lists) equals ours."""
    _, processor, adapter = tiny.load(name)
    samples = image_samples(adapter)
    texts = [processor.tokenizer.decode(s["input_ids"][0]) for s in samples]
    raw = [processor.apply_chat_template(chat(1), add_generation_prompt=True, tokenize=False),
           processor.apply_chat_template(chat(2, text="Which is bigger?"), add_generation_prompt=True, tokenize=False)]
    joint = processor(text=raw, images=[[image(64, 48)], [image(40, 64, "blue"), image(64, 64, "green")]],
                      return_tensors="pt", add_special_tokens=False, padding=True, padding_side="right")
    ours = adapter.collate(samples)
    assert set(joint) == set(ours), texts
    for key in ours:
        torch.testing.assert_close(torch.as_tensor(joint[key]), ours[key], msg=key)


def test_an_undeclared_key_is_an_error_not_a_drop(tiny):
    _, _, adapter = tiny.load("qwen2_vl")
    sample = encode(adapter, images=[image()])
    sample["image_sizes"] = torch.tensor([[48, 64]])
    with pytest.raises(KeyError, match="image_sizes"):
        adapter.collate([sample])


def test_unequal_frame_counts_cannot_share_a_llava_onevision_batch(tiny):
    _, _, adapter = tiny.load("llava_onevision")
    samples = [encode(adapter, videos=[frames(4)]), encode(adapter, videos=[frames(2)])]
    with pytest.raises(ValueError, match="pixel_values_videos: samples of shapes"):
        adapter.collate(samples)


@pytest.mark.parametrize("name", FAMILIES)
def test_packed_rows_give_each_sample_its_own_logits(tiny, name):
    """Two samples in one row, one in another: every sample's logits are those it has alone."""
    model, _, adapter = tiny.load(name)
    a = encode(adapter, images=[image(64, 48)])
    b = encode(adapter, images=[image(40, 64, "blue"), image(64, 64)], text="Which is bigger?")
    c = encode(adapter, text="Only words.")
    rows = [[a, b], [c, a]]
    if adapter.takes_video:
        v = encode(adapter, videos=[frames(4)], fps=1.0)
        rows += [[v, c, v]] if adapter.mixed_media else []
    batch = adapter.pack(model, rows)
    # What the processor gives one entry per row (the two-image sample ``b`` has one entry) stays
    # one entry per row when packed, so a packed batch can still be split by rows.
    per_row = {k for k, v in b.items() if k not in TOKEN_FIELDS and adapter.fields[k].unit is not Unit.TOKEN
               and v.dim() >= 2 and v.shape[0] == 1}
    for key in per_row:
        assert batch[key].shape[0] == len(rows), key
    with torch.no_grad():
        together = model(**batch).logits
        for r, row in enumerate(rows):
            o = 0
            for sample in row:
                alone = model(**sample).logits[0]
                n = alone.shape[0]
                torch.testing.assert_close(together[r, o:o + n], alone, atol=1e-5, rtol=1e-5)
                o += n
