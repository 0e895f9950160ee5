import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from thinkvl.format import FORCE_ANSWER_SUFFIX, PROTOCOL_MARKERS
from thinkvl.model.factory import TinyPreset, count_parameters, load_model, never_generate_ids
from thinkvl.model.generate import generate
from thinkvl.model.settings import GenerationSettings
from thinkvl.model.inputs import IGNORE, collate, encode_sample, group_by_modality

IMG = [{"type": "image", "image": Image.new("RGB", (64, 64), "red")}, {"type": "text", "text": "How many?"}]
VID = [{"type": "video", "video": [Image.new("RGB", (64, 64), c) for c in ("red", "blue", "red", "blue")]},
       {"type": "text", "text": "Which way?"}]


def test_mrope_section_sums_to_half_rotary_dim():
    p = TinyPreset()
    assert sum(p.mrope_section) == int(p.hidden // p.heads * p.partial_rotary_factor) // 2


def test_folder_loads_with_auto_classes(tiny_dir):
    model = AutoModelForImageTextToText.from_pretrained(tiny_dir)
    processor = AutoProcessor.from_pretrained(tiny_dir)
    assert type(model).__name__ == "Glm4vForConditionalGeneration"
    assert 0.5e6 < count_parameters(model) < 3e6
    tok = processor.tokenizer
    for marker in PROTOCOL_MARKERS + ("<|image|>", "<|video|>"):
        ids = tok(marker, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1, marker  # each marker is one special token
    text = processor.apply_chat_template([{"role": "user", "content": IMG}], add_generation_prompt=True,
                                         tokenize=False)
    assert text.startswith("[gMASK]<sop><|user|>\n<|begin_of_image|><|image|>") and text.endswith("<|assistant|>\n")


def test_image_is_16_vision_tokens_and_loss_only_on_completion(tiny_dir):
    processor = AutoProcessor.from_pretrained(tiny_dir)
    s = encode_sample(processor, [{"role": "user", "content": IMG}], "<think>a</think><answer>b</answer>")
    image_id = processor.tokenizer.convert_tokens_to_ids("<|image|>")
    assert s.input_ids.count(image_id) == 16
    assert all(l == IGNORE for l in s.labels[: s.prompt_len])
    assert s.labels[s.prompt_len:] == s.input_ids[s.prompt_len:]
    assert sum(s.mm_token_type_ids) == 16


def test_training_step_runs_on_image_and_video_batches(tiny_dir):
    model, processor = load_model(tiny_dir), AutoProcessor.from_pretrained(tiny_dir)
    samples = [encode_sample(processor, [{"role": "user", "content": c}], "<think></think><answer>x</answer>")
               for c in (IMG, VID, IMG)]
    groups = group_by_modality(samples)
    assert sorted(map(sorted, groups)) == [[0, 2], [1]]
    for idx in groups:
        batch = collate([samples[i] for i in idx], processor.tokenizer.pad_token_id)
        loss = model(**batch).loss
        loss.backward()
        assert torch.isfinite(loss)


def test_generation_never_emits_placeholders_and_forces_answers(tiny_dir):
    model, processor = load_model(tiny_dir), AutoProcessor.from_pretrained(tiny_dir)
    torch.manual_seed(0)
    prompts = [[{"role": "user", "content": IMG}]] * 6 + [[{"role": "user", "content": VID}]] * 2
    outs = generate(model, processor, prompts, GenerationSettings(temperature=1.0, think_budget=6, answer_budget=4))
    banned = set(never_generate_ids(processor.tokenizer))
    assert len(outs) == 8
    assert not banned & {t for o in outs for t in o.token_ids}
    forced = [o for o in outs if o.forced]
    assert forced, "a random model never closes its think block within 6 tokens"
    for o in forced:
        assert FORCE_ANSWER_SUFFIX in o.text
        suffix_ids = processor.tokenizer(FORCE_ANSWER_SUFFIX, add_special_tokens=False)["input_ids"]
        labels = o.sample.labels[o.sample.prompt_len:]
        start = next(i for i in range(len(o.token_ids)) if o.token_ids[i:i + len(suffix_ids)] == suffix_ids)
        assert all(l == IGNORE for l in labels[start:start + len(suffix_ids)])  # forced, not learned


def test_direct_mode_appends_nothink(tiny_dir):
    model, processor = load_model(tiny_dir), AutoProcessor.from_pretrained(tiny_dir)
    outs = generate(model, processor, [[{"role": "user", "content": IMG}]],
                    GenerationSettings(temperature=0.0, think_budget=3, answer_budget=2), think=False)
    prompt_text = processor.tokenizer.decode(outs[0].sample.input_ids[: outs[0].sample.prompt_len])
    assert "/nothink" in prompt_text
