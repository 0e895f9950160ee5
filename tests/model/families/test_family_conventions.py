"""Family conventions the stages follow through the adapter: templates that open ``<think>`` or
take ``enable_thinking``, markers split into several tokens, per-video frame rates, the model's
parts for freezing and learning rates, and which folders load at all."""

import copy
import json

import pytest
import torch
from family_helpers import frames, image

from thinkvl.format import FORCE_ANSWER_SUFFIX
from thinkvl.model.families import adapter_for
from thinkvl.model.families.base import video_metadata
from thinkvl.model.families.tiny import template_text
from thinkvl.model.generate import encode_prompts, generate
from thinkvl.model.inputs import encode_sample
from thinkvl.model.settings import GenerationSettings
from thinkvl.rl.metrics import think_close_id, think_length
from thinkvl.runtime.optim import OptimConfig, freeze_vision, param_groups
from thinkvl.train.samples import Budget, SampleEncoder

PROMPT = [{"role": "user", "content": [{"type": "image", "image": image()}, {"type": "text", "text": "How many?"}]}]
ANSWER = "<think>I count 2.</think><answer><|begin_of_box|>2<|end_of_box|></answer>"
GREEDY = GenerationSettings(temperature=0.0, think_budget=4, answer_budget=3)


def test_a_template_that_opens_think_trains_and_reads_the_whole_protocol(tiny):
    model, _, _ = tiny.load("qwen3_vl")
    processor = tiny.processor("qwen3_vl")
    processor.chat_template = template_text("qwen3_vl_thinking")
    adapter = adapter_for(model, processor)
    sample = encode_sample(adapter, PROMPT, ANSWER)
    tok = adapter.tokenizer
    assert tok.decode(sample.input_ids[:sample.prompt_len]).endswith("<think>\n")
    completion = tok.decode(sample.input_ids[sample.prompt_len:])
    assert completion == "I count 2.</think><answer><|begin_of_box|>2<|end_of_box|></answer><|im_end|>"
    (done,) = generate(model, adapter, [PROMPT], GREEDY)
    assert done.text.startswith("<think>\n") and not tok.decode(done.token_ids).startswith("<think>")


def test_direct_mode_through_enable_thinking_is_not_force_answered_twice(tiny):
    model, _, _ = tiny.load("qwen2_vl")
    processor = tiny.processor("qwen2_vl")
    processor.chat_template = processor.chat_template.replace(
        "<|im_start|>assistant\n{% endif %}",
        "<|im_start|>assistant\n{% if enable_thinking is defined and not enable_thinking %}"
        "<think>\n\n</think>\n\n{% endif %}{% endif %}")
    adapter = adapter_for(model, processor)
    (direct,) = encode_prompts(adapter, [PROMPT], think=False)
    assert direct.response_prefix == "<think>\n\n</think>\n\n"
    assert "/nothink" not in adapter.tokenizer.decode(direct.input_ids)  # the template's switch, not ours
    (done,) = generate(model, adapter, [PROMPT], GREEDY, think=False)
    suffix = adapter.tokenizer(FORCE_ANSWER_SUFFIX, add_special_tokens=False)["input_ids"]
    assert not done.forced and done.text.startswith("<think>\n\n</think>\n\n")
    assert done.token_ids[:len(suffix)] != suffix and len(done.token_ids) <= GREEDY.think_budget + GREEDY.answer_budget


def test_think_length_reads_a_split_marker_as_text(tiny):
    _, _, adapter = tiny.load("qwen2_5_vl")
    assert not adapter.markers()["</think>"].single  # before SFT adds it
    tok = adapter.tokenizer
    head = tok("I count two", add_special_tokens=False)["input_ids"]
    ids = head + tok("</think><answer>2</answer>", add_special_tokens=False)["input_ids"]
    assert think_length(ids, think_close_id(adapter)) == len(head)
    assert think_length(head, think_close_id(adapter)) == len(head)


def test_sft_video_samples_carry_the_clips_own_frame_rate(tiny, tmp_path):
    """Qwen2.5-VL places frame pairs in absolute time: a clip sampled at 2 fps is 1 s per pair,
    not the 2 / 1000 s a millisecond-indexed source would say."""
    model, _, adapter = tiny.load("qwen2_5_vl")
    folder = tmp_path / "clip"
    folder.mkdir()
    for i, f in enumerate(frames(4)):
        f.save(folder / f"{i:03d}.png")
    record = {"id": "v", "_source": "sft.jsonl:1", "messages": [
        {"role": "user", "content": [{"type": "video", "video": str(folder)}, {"type": "text", "text": "Colour?"}]},
        {"role": "assistant", "content": ANSWER}]}
    item = SampleEncoder(adapter, "sft", Budget(seq_len=4096, max_image_tokens=256, max_video_tokens=512))(record)
    assert item.sample.vision["second_per_grid_ts"].tolist() == [pytest.approx(1.0)]


@pytest.mark.parametrize("times", [[0.0, 0.5, 1.0, 1.5], [0.3, 1.1, 1.9, 2.7, 3.5, 3.5]])
def test_video_metadata_keeps_each_frames_time_and_the_clips_rate(times):
    meta = video_metadata(len(times), 2.0, times)
    assert meta.timestamps == pytest.approx(times, abs=1e-3)
    assert meta.sampled_fps == pytest.approx(1 / (times[1] - times[0]), rel=1e-3)


@pytest.mark.parametrize("name", ["llava_onevision", "glm4v"])
def test_optimizer_groups_and_freezing_follow_the_familys_parts(tiny, name):
    base, _, adapter = tiny.load(name)
    model = copy.deepcopy(base)
    cfg = OptimConfig(lr=1e-3, vision_lr_scale=0.1, projector_lr_scale=0.5)
    lr_of = {id(p): g["lr"] for g in param_groups(model, cfg, adapter) for p in g["params"]}
    want = {"vision": 1e-4, "projector": 5e-4, "language": 1e-3}
    for n, p in model.named_parameters():
        assert lr_of[id(p)] == pytest.approx(want[adapter.part_of(n)]), n
    freeze_vision(model, 0.0, adapter)  # the projector follows the tower unless set
    frozen = {adapter.part_of(n) for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {"vision", "projector"}
    model = copy.deepcopy(base)
    freeze_vision(model, 0.0, adapter, projector_lr_scale=1.0)
    assert {adapter.part_of(n) for n, p in model.named_parameters() if not p.requires_grad} == {"vision"}


@pytest.mark.parametrize("model_type,message", [("kimi_vl", "trust_remote_code"), ("foo_vl", "no thinkvl adapter")])
def test_unsupported_folders_are_refused_before_loading(tmp_path, model_type, message):
    from thinkvl.model.factory import load_model, load_processor

    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}))
    for load in (load_model, load_processor):
        with pytest.raises(ValueError, match=message) as err:
            load(tmp_path)
        assert str(tmp_path) in str(err.value)


def test_a_supported_family_loads_and_trust_remote_code_stays_off(tiny, monkeypatch):
    from transformers import AutoModelForImageTextToText

    from thinkvl.model.factory import load_model

    seen = {}
    real = AutoModelForImageTextToText.from_pretrained

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(AutoModelForImageTextToText, "from_pretrained", spy)
    assert isinstance(load_model(tiny.path("internvl")), torch.nn.Module)
    assert seen["trust_remote_code"] is False
