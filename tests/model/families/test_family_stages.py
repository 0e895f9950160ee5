"""Every supported family through thinkvl's stages, on its tiny model and a small synthetic world
(images, and videos where the family takes video): SFT (3 steps), RL (2 steps) and evaluation in
think and direct modes all run; SFT turns the protocol markers into tokens saved with the model;
and a record whose media cannot reach the prompt fails naming its file and line.

The tiny models are random, so nothing here is about answer quality (the learnability of the
protocol is measured by ``bench/family_protocol.py``); RL's pre-flight format check is relaxed
for the same reason.
"""

import json

import pytest
from family_helpers import records_for

from thinkvl.config import build_config
from thinkvl.format import PROTOCOL_MARKERS
from thinkvl.model.families import FAMILIES, get_family
from thinkvl.rl.config import RLConfig
from thinkvl.rl.run import run_rl
from thinkvl.train.samples import Budget, SampleEncoder, SampleError
from thinkvl.train.sft import load_sft_config, run_sft

IMAGE_ONLY = tuple(f for f in FAMILIES if not get_family(f).takes_video)


def _sft(model, data, out):
    return run_sft(load_sft_config("demo_sft", [
        f"model.path={model}", f"data.train={data}", "train.steps=3", "run.save_every=0", "data.seq_len=1024",
        "data.max_image_tokens=256", "data.max_video_tokens=512", "train.packs_per_step=2",
        "train.micro_batch_packs=2", "data.prefetch=false", f"run.out={out}", "run.progress=false",
        "run.sinks=[jsonl]"]))


@pytest.mark.parametrize("name", FAMILIES)
def test_sft_rl_and_eval_in_both_modes_run(tiny, world, tmp_path, name):
    from transformers import AutoTokenizer

    from thinkvl.eval.runner import evaluate
    from thinkvl.track import read_metrics

    final = _sft(tiny.path(name), records_for(world, name, "sft.jsonl"), tmp_path / "sft")
    assert [m["step"] for m in read_metrics(tmp_path / "sft")] == [1, 2, 3]
    tok = AutoTokenizer.from_pretrained(final)  # every marker is one token now, saved with the model
    assert all(len(tok(m, add_special_tokens=False)["input_ids"]) == 1 for m in PROTOCOL_MARKERS)

    train = records_for(world, name, "rl_train.jsonl", per_domain=2)
    rl = {"model": str(final), "data": {"train": train},
          "rl": {"steps": 2, "prompts_per_step": 2, "preflight_max_format_errors": 1.0},
          "rollout": {"group_size": 2, "think_budget": 10, "answer_budget": 6},
          "run": {"out": str(tmp_path / "rl"), "save_every": 0, "sinks": ["jsonl"], "progress": False}}
    summary = run_rl(build_config(RLConfig, rl, []))
    assert summary["steps"] == 2
    rollouts = [json.loads(line) for line in (tmp_path / "rl" / "rollouts" / "step_000001.jsonl").read_text().splitlines()]
    assert len(rollouts) == 2 * 2 and all(r["tokens"] > 0 for r in rollouts)

    records = records_for(world, name, "rl_eval.jsonl", per_domain=2)
    n = sum(1 for _ in open(records))
    for mode in ("think", "direct"):
        result = evaluate(str(tmp_path / "rl" / "final"), records=records, mode=mode,
                          generation={"think_budget": 10, "answer_budget": 6})
        assert result.generated == n and result.overall.failed == 0


def _encoder(tiny, name):
    _, _, adapter = tiny.load(name)
    return SampleEncoder(adapter, "sft", Budget(seq_len=4096, max_image_tokens=256, max_video_tokens=512))


def _record(content, line):
    return {"id": "r", "domain": "counting", "_source": f"/data/sft.jsonl:{line}", "messages": [
        {"role": "user", "content": content},
        {"role": "assistant", "content": "<think>one</think><answer><|begin_of_box|>1<|end_of_box|></answer>"}]}


@pytest.mark.parametrize("name", IMAGE_ONLY)
def test_a_video_record_on_an_image_only_family_names_its_line(tiny, world, name):
    video = sorted((world / "media" / "video").iterdir())[0]
    record = _record([{"type": "video", "video": str(video)}, {"type": "text", "text": "How many flashes?"}], 7)
    with pytest.raises(SampleError, match=r"/data/sft\.jsonl:7: bad_record: .*takes no video"):
        _encoder(tiny, name)(record)


@pytest.mark.parametrize("name", FAMILIES)
def test_media_that_does_not_match_the_placeholders_names_its_line(tiny, world, name):
    """A record whose text carries the family's own image placeholder renders one placeholder
    more than it has images: the image would be placed wrongly, so the record is refused."""
    _, processor, _ = tiny.load(name)
    image = sorted((world / "media" / "counting").iterdir())[0]
    text = f"What does {processor.image_token} mean here?"
    record = _record([{"type": "image", "image": str(image)}, {"type": "text", "text": text}], 12)
    with pytest.raises(SampleError, match=r"/data/sft\.jsonl:12: bad_record: .*1 image\(s\) but the rendered prompt has 2"):
        _encoder(tiny, name)(record)


@pytest.mark.parametrize("name", ["qwen2_5_vl", "idefics3"])
def test_an_rl_prompt_whose_media_misses_the_prompt_names_its_record(tiny, name):
    from PIL import Image

    from thinkvl.model.generate import encode_prompts
    from thinkvl.model.inputs import Media

    _, _, adapter = tiny.load(name)
    prompt = [{"role": "user", "content": "Count the squares."}]  # the record's image is not in the prompt
    with pytest.raises(ValueError, match=r"rl\.jsonl:5: 1 image\(s\) but the rendered prompt has 0"):
        encode_prompts(adapter, [prompt], media=[Media(images=[Image.new("RGB", (32, 32))])], wheres=["rl.jsonl:5"])
