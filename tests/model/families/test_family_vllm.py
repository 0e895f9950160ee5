"""Families served through vLLM (its CPU build here): GLM-4.1V (``tests/rl/test_vllm_rollout.py``),
Qwen2-VL and Qwen2.5-VL. The trainer's token ids reach vLLM with each item's run of placeholder
tokens collapsed back to one, and vLLM's greedy tokens equal thinkvl's own loop, force-answering
included, for image, video and text prompts. Other families are refused by name.
"""

import pytest
from family_helpers import frames, image

from thinkvl.model.families import FAMILIES, get_family
from thinkvl.model.generate import generate
from thinkvl.model.inputs import Media
from thinkvl.model.settings import GenerationSettings

pytest.importorskip("vllm")

SERVED = ("glm4v", "qwen2_vl", "qwen2_5_vl")
PROMPTS = [[{"role": "user", "content": [{"type": "image", "image": image()}, {"type": "text", "text": "How many?"}]}],
           [{"role": "user", "content": [{"type": "video", "video": frames(4)}, {"type": "text", "text": "Which colour?"}]}],
           [{"role": "user", "content": "What is 2 + 3?"}]]
MEDIA = [Media(images=[image()]), Media(videos=[frames(4)]), Media()]


@pytest.mark.parametrize("name", [f for f in FAMILIES if f not in SERVED])
def test_families_not_served_through_vllm_are_refused_by_name(tiny, name):
    from thinkvl.model.vllm_inputs import placeholders_for

    _, _, adapter = tiny.load(name)
    with pytest.raises(ValueError, match=f"{name}: thinkvl does not hand this family's prompts to vLLM"):
        placeholders_for(adapter)


@pytest.mark.parametrize("name", ["qwen2_vl", "qwen2_5_vl"])
def test_qwen_through_vllm_gives_thinkvls_greedy_tokens(tiny, name):
    from thinkvl.model.vllm_decode import VLLMDecoder
    from thinkvl.model.vllm_engine import EngineSettings, close_engine, start_engine

    assert get_family(name).vllm_placeholders == "runs"
    model, processor, adapter = tiny.load(name)
    settings = GenerationSettings(temperature=0.0, think_budget=8, answer_budget=4)
    want = generate(model, adapter, PROMPTS, settings)
    llm = start_engine(tiny.path(name), EngineSettings(max_model_len=2048))
    try:
        got = [g[0] for g in VLLMDecoder(llm, tiny.path(name), processor).generate(
            PROMPTS, 1, settings, media=MEDIA)]
    finally:
        close_engine(llm)
    assert [(c.token_ids, c.forced, c.truncated) for c in got] == [(c.token_ids, c.forced, c.truncated) for c in want]
    assert all(c.forced for c in got)  # a random model: every row is force-answered
