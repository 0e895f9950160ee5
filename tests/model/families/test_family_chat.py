"""Answers read from each family's chat template, checked against the rendered tokens."""

from __future__ import annotations

import pytest
from family_helpers import chat

from thinkvl.format import NOTHINK
from thinkvl.model.families import FAMILIES
from thinkvl.model.families.chat import assistant_lead, thinking, turn_end
from thinkvl.model.families.tiny import template_text

EXPECTED_TERMINATOR = {  # what each published template writes after an assistant's words
    "glm4v": "<|endoftext|>",  # thinkvl's own tiny GLM template
    "qwen2_vl": "<|im_end|>", "qwen2_5_vl": "<|im_end|>", "qwen3_vl": "<|im_end|>",
    "gemma3": "<end_of_turn>", "llava_onevision": "<|im_end|>", "internvl": "<|im_end|>",
    "idefics3": "<end_of_utterance>", "smolvlm": "<end_of_utterance>",
}


def _assistant(adapter, text: str) -> dict:
    return {"role": "assistant", "content": text if adapter.content_form == "string" else [{"type": "text", "text": text}]}


@pytest.mark.parametrize("name", FAMILIES)
def test_stop_id_is_the_token_that_ends_the_rendered_assistant_turn(tiny, name):
    model, processor, adapter = tiny.load(name)
    tok = processor.tokenizer
    prompt = processor.apply_chat_template(chat(0), add_generation_prompt=True, tokenize=False)
    full = processor.apply_chat_template([*chat(0), _assistant(adapter, "Three.")], tokenize=False)
    words = tok("Three.", add_special_tokens=False)["input_ids"]
    ids = tok(full, add_special_tokens=False)["input_ids"]
    end = max(i for i in range(len(ids) - len(words) + 1) if ids[i:i + len(words)] == words) + len(words)
    assert ids[end] == adapter.stop_ids[0] == adapter.turn_end.token_id
    assert adapter.turn_end.token == adapter.completion_suffix == EXPECTED_TERMINATOR[name]
    # Training appends the terminator to the generation prompt + answer: the model learns to stop there.
    assert prompt + (adapter.assistant_lead or "") + "Three." + adapter.completion_suffix in full \
        or adapter.assistant_lead is None
    assert set(adapter.stop_ids) <= set(model.generation_config.eos_token_id)


def test_published_glm_template_ends_a_turn_where_the_next_user_begins(tiny):
    processor = tiny.processor("glm4v")
    processor.chat_template = template_text("glm4v")
    end = turn_end(processor)
    assert end.by_next_role and end.token == "<|user|>"
    from thinkvl.model.families import adapter_for

    model, _, _ = tiny.load("glm4v")
    adapter = adapter_for(model.config, processor)
    assert adapter.content_form == "string"  # the published template prints a list's repr
    assert adapter.stop_ids == [processor.tokenizer.convert_tokens_to_ids("<|user|>"),
                                processor.tokenizer.convert_tokens_to_ids("<|endoftext|>")]


@pytest.mark.parametrize("name,lead", [("idefics3", " "), ("smolvlm", " "), ("llava_onevision", None),
                                       ("qwen2_5_vl", ""), ("gemma3", ""), ("glm4v", "")])
def test_assistant_lead(tiny, name, lead):
    _, _, adapter = tiny.load(name)
    assert adapter.assistant_lead == lead


@pytest.mark.parametrize("name", FAMILIES)
def test_shipped_templates_know_no_thinking_switch(tiny, name):
    _, _, adapter = tiny.load(name)
    assert adapter.thinking.mode == "nothink_suffix"
    messages, kwargs = adapter.direct_prompt(chat(1))
    assert messages[-1]["content"][-1]["text"].endswith(NOTHINK) and kwargs == {}
    assert chat(1)[-1]["content"][-1]["text"] == "How many squares?"  # the record is not modified


def test_qwen3_thinking_template_opens_think(tiny):
    processor = tiny.processor("qwen3_vl")
    processor.chat_template = template_text("qwen3_vl_thinking")
    convention = thinking(processor)
    assert convention.mode == "opens_think" and convention.opened == "<think>\n"
    assert turn_end(processor).token == "<|im_end|>"
    assert assistant_lead(processor) == "\n</think>\n\n"  # a finished turn without reasoning closes the block


def test_enable_thinking_template_is_recognised(tiny):
    processor = tiny.processor("qwen2_vl")
    processor.chat_template = processor.chat_template.replace(
        "<|im_start|>assistant\n{% endif %}",
        "<|im_start|>assistant\n{% if enable_thinking is defined and not enable_thinking %}"
        "<think>\n\n</think>\n\n{% endif %}{% endif %}")
    convention = thinking(processor)
    assert convention.mode == "enable_thinking"
    assert convention.direct_template_kwargs == {"enable_thinking": False}
