"""Every family's tiny folder is an ordinary Hugging Face model: it loads with the Auto classes,
renders a chat with its own template, expands placeholders, runs forward and ``generate``."""

from __future__ import annotations

import pytest
import torch
from family_helpers import VIDEO_FAMILIES, chat, encode, frames, image
from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES
from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

from thinkvl.model.families import FAMILIES, UNSUPPORTED, family_for, get_family


@pytest.mark.parametrize("name", FAMILIES)
def test_registry_names_real_transformers_classes(name):
    family = get_family(name)
    for model_type in family.model_types:
        assert model_type in CONFIG_MAPPING_NAMES
        assert MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES[model_type] == family.model_class
    assert not family.trust_remote_code


def test_unsupported_family_says_why():
    with pytest.raises(ValueError, match="trust_remote_code"):
        get_family("kimi_vl")
    assert "kimi_vl" in UNSUPPORTED
    with pytest.raises(ValueError, match="supported: glm4v"):
        get_family("no_such_vlm")


@pytest.mark.parametrize("name", FAMILIES)
def test_loads_with_auto_classes_and_picks_its_adapter(tiny, name):
    model, processor, adapter = tiny.load(name)
    assert type(model).__name__ == adapter.model_class
    assert family_for(model) is get_family(name) is type(adapter)
    assert sum(p.numel() for p in model.parameters()) < 2_000_000
    assert adapter.takes_video == (getattr(processor, "video_processor", None) is not None)


@pytest.mark.parametrize("name", FAMILIES)
def test_image_chat_renders_expands_runs_and_generates(tiny, name):
    model, processor, adapter = tiny.load(name)
    rendered = processor.apply_chat_template(chat(1), add_generation_prompt=True, tokenize=False)
    adapter.check_media(rendered, images=1, videos=0)
    enc = encode(adapter, images=[image()])
    assert adapter.vision_tokens(enc["input_ids"]) > 1  # the placeholder was expanded
    with torch.no_grad():
        logits = model(**enc).logits
    assert logits.shape[:2] == enc["input_ids"].shape
    out = model.generate(**enc, max_new_tokens=4, do_sample=False)
    assert out.shape[1] > enc["input_ids"].shape[1]


@pytest.mark.parametrize("name", VIDEO_FAMILIES)
def test_video_chat_renders_expands_runs_and_generates(tiny, name):
    model, processor, adapter = tiny.load(name)
    rendered = processor.apply_chat_template(chat(0, 1), add_generation_prompt=True, tokenize=False)
    adapter.check_media(rendered, images=0, videos=1)
    enc = encode(adapter, videos=[frames(4)], fps=1.0)
    assert adapter.vision_tokens(enc["input_ids"]) >= 4
    with torch.no_grad():
        assert torch.isfinite(model(**enc).logits).all()
    out = model.generate(**enc, max_new_tokens=3, do_sample=False)
    assert out.shape[1] > enc["input_ids"].shape[1]


@pytest.mark.parametrize("name", [f for f in FAMILIES if f not in VIDEO_FAMILIES])
def test_image_only_family_refuses_a_video_record(tiny, name):
    _, processor, adapter = tiny.load(name)
    assert not adapter.takes_video
    rendered = processor.apply_chat_template(chat(0, 1), add_generation_prompt=True, tokenize=False)
    with pytest.raises(ValueError, match="takes no video"):
        adapter.check_media(rendered, images=0, videos=1, where="world.jsonl:3")
    with pytest.raises(ValueError, match="takes no video"):
        adapter.video_kwargs([frames(2)], 2.0)


@pytest.mark.parametrize("name", FAMILIES)
def test_media_missing_from_the_prompt_is_an_error(tiny, name):
    _, processor, adapter = tiny.load(name)
    text_only = processor.apply_chat_template(chat(0), add_generation_prompt=True, tokenize=False)
    with pytest.raises(ValueError, match=r"sft\.jsonl:7: 1 image\(s\) but the rendered prompt has 0"):
        adapter.check_media(text_only, images=1, videos=0, where="sft.jsonl:7")


@pytest.mark.parametrize("name", VIDEO_FAMILIES)
def test_mixed_media_answer_matches_the_model(tiny, name):
    """``mixed_media`` False means one forward pass cannot hold an image and a video."""
    model, _, adapter = tiny.load(name)
    enc = encode(adapter, images=[image()], videos=[frames(2)])
    if adapter.mixed_media:
        with torch.no_grad():
            assert torch.isfinite(model(**enc).logits).all()
    else:
        with pytest.raises((ValueError, IndexError, RuntimeError)), torch.no_grad():
            model(**enc)
