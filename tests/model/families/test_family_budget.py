"""Vision budgets in each family's own units: the most tokens an image can take, and caps that the
processor and the model then agree on."""

from __future__ import annotations

import pytest
import torch
from family_helpers import encode, image
from transformers import AutoModelForImageTextToText

from thinkvl.model.families import FAMILIES, adapter_for

SHAPES = [(1300, 1300), (320, 96), (96, 320), (64, 64), (32, 64), (64, 32), (200, 150)]


def fresh(tiny, name):
    """A model and adapter of their own: caps change the processor (and LLaVA's config)."""
    model = AutoModelForImageTextToText.from_pretrained(tiny.path(name)).eval()
    return model, adapter_for(model.config, tiny.processor(name))


def tokens_of(adapter, width: int, height: int) -> int:
    return adapter.vision_tokens(encode(adapter, images=[image(width, height)])["input_ids"])


@pytest.mark.parametrize("name", FAMILIES)
def test_max_image_tokens_bounds_every_image_and_is_reached(tiny, name):
    _, adapter = fresh(tiny, name)
    budget = adapter.budget()
    counts = [tokens_of(adapter, w, h) for w, h in SHAPES]
    assert max(counts) <= budget.max_image_tokens
    if budget.unit == "pixels":  # rounding to the patch grid keeps it a little under
        assert max(counts) >= 0.75 * budget.max_image_tokens
    else:
        assert max(counts) == budget.max_image_tokens


@pytest.mark.parametrize("name", FAMILIES)
def test_cap_holds_and_the_model_still_agrees_with_the_processor(tiny, name):
    model, adapter = fresh(tiny, name)
    before = adapter.budget().max_image_tokens
    floor = tokens_of(adapter, 32, 32)  # a small image: near the family's minimum
    cap = max(floor, before // 2)
    adapter.cap_image_tokens(cap)
    assert adapter.budget().max_image_tokens <= cap
    for w, h in SHAPES:
        enc = encode(adapter, images=[image(w, h)])
        assert adapter.vision_tokens(enc["input_ids"]) <= cap, (w, h)
    with torch.no_grad():  # features and placeholders still match: processor and config agree
        assert torch.isfinite(model(**encode(adapter, images=[image(1300, 1300)])).logits).all()


@pytest.mark.parametrize("name", FAMILIES)
def test_a_cap_below_the_familys_minimum_is_refused(tiny, name):
    _, adapter = fresh(tiny, name)
    with pytest.raises(ValueError, match=name):
        adapter.cap_image_tokens(1)
