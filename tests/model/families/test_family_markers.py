"""Protocol markers: what each family's tokenizer makes of them, and adding them at SFT start."""

from __future__ import annotations

import pytest
import torch
from family_helpers import encode, image
from transformers import AutoModelForImageTextToText, AutoProcessor

from thinkvl.format import PROTOCOL_MARKERS, make_response
from thinkvl.model.families import FAMILIES, adapter_for

ALREADY_SINGLE = {"glm4v": set(PROTOCOL_MARKERS), "qwen3_vl": {"<think>", "</think>"}}


@pytest.mark.parametrize("name", FAMILIES)
def test_marker_answers_match_the_tokenizer(tiny, name):
    _, processor, adapter = tiny.load(name)
    info = adapter.markers()
    assert set(info) == set(PROTOCOL_MARKERS)
    for marker, m in info.items():
        assert list(m.ids) == processor.tokenizer(marker, add_special_tokens=False)["input_ids"]
    assert {m for m, i in info.items() if i.single} == ALREADY_SINGLE.get(name, set())
    assert adapter.missing_markers() == [m for m in PROTOCOL_MARKERS if m not in ALREADY_SINGLE.get(name, set())]


@pytest.mark.parametrize("name", FAMILIES)
def test_add_markers_makes_each_one_token_and_the_model_still_runs(tiny, tmp_path, name):
    path = tiny.path(name)
    model = AutoModelForImageTextToText.from_pretrained(path).eval()
    processor = AutoProcessor.from_pretrained(path)
    adapter = adapter_for(model.config, processor)
    old = model.get_input_embeddings().weight.detach().clone()
    added = adapter.add_markers(model)
    assert added == [m for m in PROTOCOL_MARKERS if m not in ALREADY_SINGLE.get(name, set())]
    tok = processor.tokenizer
    response = make_response("3", think="count them", lead="So ", tail=".")
    ids = tok(response, add_special_tokens=False)["input_ids"]
    for marker in PROTOCOL_MARKERS:
        assert tok.convert_tokens_to_ids(marker) in ids  # one id each, inside running text too
    assert tok.decode(ids) == response
    emb = model.get_input_embeddings().weight
    assert emb.shape[0] >= len(tok) and model.config.get_text_config().vocab_size == emb.shape[0]
    new = tok.convert_tokens_to_ids(added)
    if added:
        torch.testing.assert_close(emb[new], old.mean(0, keepdim=True).expand(len(new), -1))
    torch.testing.assert_close(emb[: old.shape[0]][[i for i in range(old.shape[0]) if i not in new]],
                               old[[i for i in range(old.shape[0]) if i not in new]])
    enc = encode(adapter, images=[image()])
    out = model.generate(**enc, max_new_tokens=3, do_sample=False)
    assert out.shape[1] > enc["input_ids"].shape[1]
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    again = adapter_for(AutoModelForImageTextToText.from_pretrained(tmp_path).config, AutoProcessor.from_pretrained(tmp_path))
    assert again.missing_markers() == []


def test_markers_landing_in_padded_rows_get_the_mean_not_the_padding(tiny):
    """Real checkpoints pad their vocabulary (Qwen: 152064 rows, 151665 tokens): new ids fall in
    rows that were never trained; they must start at the mean like resized ones."""
    path = tiny.path("qwen2_vl")
    model = AutoModelForImageTextToText.from_pretrained(path)
    processor = AutoProcessor.from_pretrained(path)
    n = len(processor.tokenizer)
    model.resize_token_embeddings(n + 16, mean_resizing=False)
    with torch.no_grad():
        model.get_input_embeddings().weight[n:] = 1e3
    mean = model.get_input_embeddings().weight[:n].mean(0)
    added = adapter_for(model.config, processor).add_markers(model)
    assert model.get_input_embeddings().weight.shape[0] == n + 16  # no resize: the rows were there
    new = processor.tokenizer.convert_tokens_to_ids(added)
    assert max(new) < n + 16
    torch.testing.assert_close(model.get_input_embeddings().weight[new], mean.expand(len(new), -1))
