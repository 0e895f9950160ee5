"""Tokens a policy must never sample, and the tiny folders' generation settings."""

from __future__ import annotations

import pytest
from family_helpers import encode, frames, image

from thinkvl.model.families import FAMILIES


def specials(tokenizer, ids) -> set[int]:
    added = tokenizer.added_tokens_decoder
    return {i for i in ids if i in added or i in tokenizer.all_special_ids}


@pytest.mark.parametrize("name", FAMILIES)
def test_vision_scaffolding_tokens_are_placeholders(tiny, name):
    """Special tokens that appear only because the prompt has media (template placeholders and
    what the processor expands them into) are all in ``placeholder_ids``."""
    _, processor, adapter = tiny.load(name)
    tok = processor.tokenizer
    text_only = specials(tok, encode(adapter)["input_ids"][0].tolist())
    media = [encode(adapter, images=[image(64, 64)]), encode(adapter, images=[image(300, 90)])]
    if adapter.takes_video:
        media.append(encode(adapter, videos=[frames(4)]))
    scaffold = set().union(*(specials(tok, m["input_ids"][0].tolist()) for m in media)) - text_only
    assert scaffold, "media added no special tokens"
    assert scaffold <= set(adapter.placeholder_ids), tok.convert_ids_to_tokens(sorted(scaffold - set(adapter.placeholder_ids)))
    assert set(adapter.feature_ids) <= set(adapter.placeholder_ids)
    assert not set(adapter.never_sample_ids) & set(adapter.stop_ids)
    assert all(0 <= i < len(tok) for i in adapter.never_sample_ids)


@pytest.mark.parametrize("name", FAMILIES)
def test_tiny_generation_config_stops_and_suppresses_per_the_adapter(tiny, name):
    model, _, adapter = tiny.load(name)
    gen = model.generation_config
    assert set(adapter.stop_ids) <= set(gen.eos_token_id)
    assert set(adapter.placeholder_ids) <= set(gen.suppress_tokens)
    out = model.generate(**encode(adapter, images=[image()]), max_new_tokens=12, do_sample=True,
                         temperature=5.0, top_k=0)
    assert not set(out[0, -12:].tolist()) & set(adapter.placeholder_ids)


def test_generation_config_eos_ids_stop_and_are_never_suppressed(tiny):
    """Qwen's checkpoints stop on ``<|endoftext|>`` too (their generation config says so), though
    it is also the pad token: given the model, the adapter stops on it instead of suppressing it."""
    from transformers import GenerationConfig

    from thinkvl.model.families import adapter_for

    model, processor, _ = tiny.load("qwen2_5_vl")
    tok = processor.tokenizer
    endoftext = tok.convert_tokens_to_ids("<|endoftext|>")
    bare = adapter_for(model.config, processor)
    assert endoftext not in bare.stop_ids and endoftext in bare.never_sample_ids  # it is the pad token

    class Model:  # a checkpoint whose generation config lists both, like Qwen2.5-VL-7B-Instruct's
        config = model.config
        generation_config = GenerationConfig(eos_token_id=[tok.convert_tokens_to_ids("<|im_end|>"), endoftext])

    adapter = adapter_for(Model(), processor)
    assert adapter.stop_ids == [tok.convert_tokens_to_ids("<|im_end|>"), endoftext]
    assert endoftext not in adapter.never_sample_ids
