"""The positions an adapter computes are the ones the model uses when left to itself, and feeding
them explicitly changes nothing: packing and the decoding loop can rely on them."""

from __future__ import annotations

import pytest
import torch
from family_helpers import VIDEO_FAMILIES, encode, frames, image

from thinkvl.model.families import FAMILIES


def own_positions(model, adapter, batch: dict) -> torch.Tensor:
    """The position ids the language model receives when the caller passes none."""
    seen = {}

    def grab(module, args, kwargs):
        seen["pos"] = kwargs.get("position_ids")

    handle = model.get_submodule(adapter.language_module).register_forward_pre_hook(grab, with_kwargs=True)
    try:
        with torch.no_grad():
            model(**batch)
    finally:
        handle.remove()
    pos = seen["pos"]
    if pos is None:  # the text model counts from 0 over the whole row (no cache, no padding here)
        ids = batch["input_ids"]
        pos = torch.arange(ids.shape[1]).expand_as(ids)
    return pos


def cases(adapter) -> list[dict]:
    out = [encode(adapter, images=[image()]), encode(adapter, images=[image(40, 64), image(64, 64, "blue")])]
    if adapter.takes_video:
        out += [encode(adapter, videos=[frames(4)], fps=fps) for fps in (0.5, 1.0, 4.0)]
    return out


@pytest.mark.parametrize("name", FAMILIES)
def test_adapter_positions_equal_the_models_own(tiny, name):
    model, _, adapter = tiny.load(name)
    for batch in cases(adapter):
        ours = adapter.positions(model, batch)
        theirs = own_positions(model, adapter, batch)
        assert ours.shape[-2:] == batch["input_ids"].shape
        if adapter.rope == "mrope":
            assert ours.shape[0] == 3
            theirs = theirs[-3:]  # some text models prepend a text-only row
        torch.testing.assert_close(ours, theirs.to(ours.dtype))
        with torch.no_grad():
            torch.testing.assert_close(model(**batch, position_ids=ours).logits, model(**batch).logits)


@pytest.mark.parametrize("name", [f for f in VIDEO_FAMILIES if f in ("qwen2_5_vl",)])
def test_video_positions_follow_the_frame_rate(tiny, name):
    """Qwen2.5-VL spaces frame pairs by absolute time: the fps must reach get_rope_index through
    ``second_per_grid_ts`` (dropping it positions every video as if sampled at 2 fps)."""
    model, _, adapter = tiny.load(name)
    # 0.5 and 2 fps: 4 s and 1 s per frame pair. (transformers < 5.18 truncates a fractional
    # second_per_grid_ts to an int, so above 2 fps every frame pair got the same time there.)
    slow, fast = (encode(adapter, videos=[frames(4)], fps=fps) for fps in (0.5, 2.0))
    p_slow, p_fast = adapter.positions(model, slow), adapter.positions(model, fast)
    span = [p[0][b["mm_token_type_ids"] == 2].max() - p[0][b["mm_token_type_ids"] == 2].min()
            for p, b in ((p_slow, slow), (p_fast, fast))]
    assert span[0] == 4 * span[1] > 0  # temporal axis of the video tokens: 8 s of video vs 2 s
    without = {k: v for k, v in slow.items() if k != "second_per_grid_ts"}
    assert not torch.equal(adapter.positions(model, without), p_slow)


@pytest.mark.parametrize("name", ["qwen2_vl", "qwen3_vl", "glm4v"])
def test_other_mrope_families_see_the_frame_rate_in_text_or_not_at_all(tiny, name):
    """Qwen3-VL and GLM-4.1V write frame timestamps into the prompt (the fps changes the tokens);
    Qwen2-VL's temporal positions count frame pairs (the fps changes nothing)."""
    _, processor, adapter = tiny.load(name)
    slow, fast = (encode(adapter, videos=[frames(4)], fps=fps) for fps in (0.5, 4.0))
    same = torch.equal(slow["input_ids"], fast["input_ids"])
    assert same == (name == "qwen2_vl")


@pytest.mark.parametrize("name", FAMILIES)
def test_padded_batch_positions_match_each_sample_alone(tiny, name):
    """Left padding (decoding) shifts nothing: each row's real tokens keep their own positions."""
    model, _, adapter = tiny.load(name)
    samples = [encode(adapter, images=[image()]), encode(adapter, text="Only words, a longer prompt than the other.")]
    batch = adapter.collate(samples, padding_side="left")
    together = adapter.positions(model, batch)
    for row, sample in enumerate(samples):
        alone = adapter.positions(model, sample)
        n = sample["input_ids"].shape[1]
        torch.testing.assert_close(together[..., row, -n:], alone[..., 0, :])
