"""thinkvl's fast paths against the plain Hugging Face path, for every family's tiny model:

* packing: samples encoded for SFT (``SampleEncoder``) and packed several to a row
  (``collate_packs``, positions from thinkvl) give each token the loss it has alone, where the
  model computes its own positions (within 1e-5);
* the RL actor: prompt-shared log-probabilities (one prompt forward, completions on its cache
  rows, thinkvl's positions) equal a plain forward of each whole sequence (within 1e-5);
* decoding: thinkvl's greedy loop (or, where the family needs it, its ``generate`` fallback)
  gives ``generate``'s tokens, flags and labels, force-answering included.

Images and video (where the family takes it) are both exercised; the tiny models are random.
"""

import pytest
import torch
from family_helpers import frames, image

from thinkvl.data.packing import Pack, collate_packs, make_rope_positions
from thinkvl.format import FORCE_ANSWER_SUFFIX
from thinkvl.model.decoding import stop_ids
from thinkvl.model.families import FAMILIES
from thinkvl.model.generate import encode_prompts, extend_sample, generate, generate_groups
from thinkvl.model.inputs import IGNORE, collate
from thinkvl.model.settings import GenerationSettings
from thinkvl.model.suppress import never_sample_ids
from thinkvl.rl.actor import Positions, collate_prefix, completion_logprobs, plan_micro_batches
from thinkvl.train.loss import token_losses
from thinkvl.train.samples import Budget, SampleEncoder

ANSWER = "<think>I count 2.</think><answer><|begin_of_box|>2<|end_of_box|></answer>"


def _chat(images=(), video=None, text="How many squares?"):
    content = [{"type": "image", "image": img} for img in images]
    if video is not None:
        content.append({"type": "video", "video": video})
    return [{"role": "user", "content": [*content, {"type": "text", "text": text}]}]


def _records(adapter, tmp_path):
    """SFT records: one image, two images, text only, and (video families) two videos."""
    paths = []
    for i, (w, h, color) in enumerate(((64, 48, "red"), (40, 64, "blue"), (64, 64, "green"))):
        paths.append(tmp_path / f"img{i}.png")
        image(w, h, color).save(paths[-1])
    recs = [_chat([str(paths[0])]), _chat([str(paths[1]), str(paths[2])], text="Which is bigger?"),
            [{"role": "user", "content": "Only words."}]]
    if adapter.takes_video:
        folder = tmp_path / "clip"
        folder.mkdir()
        for i, f in enumerate(frames(4)):
            f.save(folder / f"{i:03d}.png")
        recs += [_chat(video=str(folder), text="Which colour comes first?"), _chat(video=str(folder))]
    return [{"id": str(i), "domain": "counting", "_source": f"sft.jsonl:{i + 1}",
             "messages": [*m, {"role": "assistant", "content": ANSWER}]} for i, m in enumerate(recs)]


@pytest.mark.parametrize("name", FAMILIES)
def test_packed_rows_give_every_token_the_loss_it_has_alone(tiny, tmp_path, name):
    model, _, adapter = tiny.load(name)
    encoder = SampleEncoder(adapter, "sft", Budget(seq_len=4096, max_image_tokens=256, max_video_tokens=512),
                            positions=make_rope_positions(model, adapter))
    items = [encoder(r) for r in _records(adapter, tmp_path)]
    by_batch: dict[str, list] = {}
    for item in items:
        by_batch.setdefault(item.modality, []).append(item)
    pad = adapter.tokenizer.pad_token_id
    with torch.no_grad():
        for group in by_batch.values():
            rows = [Pack(group[:2], 4096), Pack(group[2:] + group[:1], 4096)] if len(group) > 2 else [Pack(group, 4096)]
            packed, sample = token_losses(model, collate_packs(rows, pad, adapter=adapter))
            k = 0
            for row in rows:
                for item in row.items:
                    alone, _ = token_losses(model, collate([item.sample], pad, adapter=adapter))
                    # the packed row never predicts a sample's first token from the one before
                    mine = packed[sample == k]
                    torch.testing.assert_close(mine, alone[-len(mine):], atol=1e-5, rtol=1e-5)
                    k += 1


def _rollouts(model, adapter, n=2):
    """Sampled rollouts of an image, a text and (video families) a video prompt, and their groups."""
    prompts = [_chat([image()]), [{"role": "user", "content": "What is 2 + 3?"}]]
    if adapter.takes_video:
        prompts.append(_chat(video=frames(4)))
    torch.manual_seed(0)
    groups = generate_groups(model, adapter, prompts, n, GenerationSettings(temperature=1.0, think_budget=6,
                                                                            answer_budget=3))
    return [c.sample for g in groups for c in g], [i for i, g in enumerate(groups) for _ in g]


@pytest.mark.parametrize("name", FAMILIES)
def test_actor_logprobs_equal_a_plain_forward(tiny, name):
    model, _, adapter = tiny.load(name)
    samples, groups = _rollouts(model, adapter)
    pad = adapter.tokenizer.pad_token_id
    positions = Positions(model, adapter)
    with torch.no_grad():
        for micro in plan_micro_batches(samples, 8, groups, adapter):
            batch = collate_prefix([samples[i] for i in micro.rows], [groups[i] for i in micro.rows], pad, positions)
            logp, mask, _ = completion_logprobs(model, batch)
            for j, r in enumerate(micro.rows):
                plain = collate([samples[r]], pad, adapter=adapter)
                labels = plain.pop("labels")
                logits = model(**plain, use_cache=False).logits[:, :-1].float()
                ref = torch.log_softmax(logits, -1).gather(-1, labels[:, 1:].clamp(min=0)[..., None])[..., 0]
                ref = ref[labels[:, 1:] != IGNORE]
                torch.testing.assert_close(logp[j][mask[j]], ref, atol=1e-5, rtol=1e-5)


def _reference(model, adapter, prompts, settings):
    """Two plain ``generate`` calls: up to the think budget, then (rows without a stop) the forced
    ``</think><answer>`` where the think never closed, and the answer budget."""
    tok = adapter.tokenizer
    stops, pad = stop_ids(model, adapter), tok.pad_token_id
    suppress = never_sample_ids(model.config, model.generation_config, adapter.never_sample_ids)

    def run(samples, budget):
        if budget == 0:
            return [([], False) for _ in samples]
        out = []
        for s in samples:
            batch = collate([s], pad, "left", adapter)
            batch.pop("labels")
            ids = model.generate(**batch, **settings.hf_kwargs(budget, pad), eos_token_id=sorted(stops),
                                 suppress_tokens=suppress)[0, batch["input_ids"].shape[1]:].tolist()
            cut = next((i for i, t in enumerate(ids) if t in stops), None)
            out.append((ids[:cut + 1], True) if cut is not None else ([t for t in ids if t != pad], False))
        return out

    encoded = encode_prompts(adapter, prompts)
    suffix = tok(FORCE_ANSWER_SUFFIX, add_special_tokens=False)["input_ids"]
    rows = []
    for enc, (ids, done) in zip(encoded, run(encoded, settings.think_budget)):
        keep, forced = [True] * len(ids), False
        if not done and not adapter.think_closed(ids):
            ids, keep, forced = ids + suffix, keep + [False] * len(suffix), True
        if not done and settings.answer_budget:
            more, done = run([extend_sample(enc, ids)], settings.answer_budget)[0]
            ids, keep = ids + more, keep + [True] * len(more)
        rows.append((ids, forced, not done, extend_sample(enc, ids, trainable=keep).labels))
    return rows


@pytest.mark.parametrize("name", FAMILIES)
def test_greedy_decoding_equals_generate(tiny, name):
    model, _, adapter = tiny.load(name)
    prompts = [_chat([image()]), _chat([image(40, 64, "blue")], text="Count them."),
               [{"role": "user", "content": "What is 2 + 3?"}]]
    if adapter.takes_video:
        prompts.append(_chat(video=frames(4)))
    for think, answer in ((6, 4), (0, 5)):
        settings = GenerationSettings(temperature=0.0, think_budget=think, answer_budget=answer)
        ours = generate(model, adapter, prompts, settings)
        assert [(c.token_ids, c.forced, c.truncated, c.sample.labels) for c in ours] == \
            _reference(model, adapter, prompts, settings)
