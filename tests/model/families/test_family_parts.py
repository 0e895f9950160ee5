"""Module names for freezing and per-part learning rates, and the decoding path, checked on the
real models: the declared modules exist and are where the gradients of the vision path flow."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from family_helpers import encode, image
from transformers import AutoModelForImageTextToText
from transformers.cache_utils import DynamicCache, DynamicLayer

from thinkvl.model.families import FAMILIES


@pytest.mark.parametrize("name", FAMILIES)
def test_declared_modules_exist_and_split_the_parameters(tiny, name):
    model, _, adapter = tiny.load(name)
    modules = dict(model.named_modules())
    params = dict(model.named_parameters())
    for path in (*adapter.vision_modules, *adapter.projector_modules, adapter.language_module):
        assert path in modules or path in params, path
    parts = Counter(adapter.part_of(n) for n in params)
    assert parts["vision"] and parts["projector"] and parts["language"]
    for n in params:
        if n.startswith(adapter.language_module + "."):
            assert adapter.part_of(n) == "language", n
    embed = model.get_input_embeddings().weight
    assert any(adapter.part_of(n) == "language" for n, p in params.items() if p is embed)


@pytest.mark.parametrize("name", FAMILIES)
def test_every_part_receives_gradients_from_an_image_prompt(tiny, name):
    model = AutoModelForImageTextToText.from_pretrained(tiny.path(name))
    _, _, adapter = tiny.load(name)
    enc = encode(adapter, images=[image()])
    model(**enc, labels=enc["input_ids"]).loss.backward()
    got = Counter(adapter.part_of(n) for n, p in model.named_parameters()
                  if p.grad is not None and p.grad.abs().sum() > 0)
    assert got["vision"] and got["projector"] and got["language"], got


@pytest.mark.parametrize("name", FAMILIES)
def test_fast_decode_answer_matches_the_cache_transformers_builds(tiny, name):
    model, _, adapter = tiny.load(name)
    cache = DynamicCache(config=model.config)
    full = all(type(layer) is DynamicLayer for layer in cache.layers)
    assert adapter.fast_decode == full
    assert adapter.fast_decode == (name != "gemma3")
    assert len(adapter.layer_types) == model.config.get_text_config().num_hidden_layers


def test_generate_handles_gemmas_sliding_window_past_its_width(tiny):
    """The fallback path: ``generate`` with the hybrid cache equals step-by-step full forwards
    once the sequence is longer than the sliding window."""
    model, _, adapter = tiny.load("gemma3")
    enc = encode(adapter, images=[image()])
    window = model.config.get_text_config().sliding_window
    assert enc["input_ids"].shape[1] > window
    out = model.generate(**enc, max_new_tokens=6, do_sample=False, suppress_tokens=None)[0, enc["input_ids"].shape[1]:]
    ids, mask, ttype = enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]
    steps = []
    with torch.no_grad():
        for _ in range(len(out)):
            nxt = model(input_ids=ids, attention_mask=mask, token_type_ids=ttype,
                        pixel_values=enc["pixel_values"]).logits[0, -1].argmax()
            steps.append(int(nxt))
            ids = torch.cat([ids, nxt.view(1, 1)], 1)
            mask = torch.cat([mask, mask.new_ones(1, 1)], 1)
            ttype = torch.cat([ttype, ttype.new_zeros(1, 1)], 1)
    assert out.tolist()[: len(steps)] == steps
