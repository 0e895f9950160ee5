"""The fast rollout and update paths against plain references on the real tiny model.

* decoding: our loop (prompt prefilled once per group, force-answering in the same KV cache,
  finished rows dropped) gives exactly the tokens, flags and labels of the two-phase
  Hugging Face ``generate`` reference under greedy decoding, for images and video;
* sampling: the draw and the top-k fast path follow the processed distribution;
* update: the two-forward, prompt-shared log-probabilities, entropies and gradients equal one
  plain forward per sequence; with mini-batches, every optimizer step's gradient equals a naive
  per-sample clipped-GRPO reference (old log-probs from the sampling policy, so the second
  step's ratios move and tokens clip, each bound on its own side); the vision lr scale and the
  FSDP vision filler behave.
"""

import copy

import pytest
import torch
from PIL import Image

from thinkvl.format import FORCE_ANSWER_SUFFIX, THINK_CLOSE
from thinkvl.model.factory import build_tiny, load_model, load_processor
from thinkvl.model.generate import (
    encode_prompts,
    eos_ids,
    extend_sample,
    generate,
    generate_groups,
    sample_grouped,
    trim_at_eos,
)
from thinkvl.model.next_token import NextToken, draw, logits_processors
from thinkvl.model.settings import GenerationSettings
from thinkvl.model.inputs import IGNORE, collate
from thinkvl.rl.actor import (
    Actor,
    Positions,
    collate_prefix,
    completion_logprobs,
    plan_micro_batches,
)
from thinkvl.rl.batch import split
from thinkvl.rl.config import AlgoConfig
from thinkvl.runtime.optim import OptimConfig


def image_prompt(color, text):
    return [{"role": "user", "content": [{"type": "image", "image": Image.new("RGB", (64, 48), color)},
                                         {"type": "text", "text": text}]}]


def video_prompt(colors, text):
    return [{"role": "user", "content": [{"type": "video", "video": [Image.new("RGB", (32, 32), c) for c in colors]},
                                         {"type": "text", "text": text}]}]


PROMPTS = [
    image_prompt("red", "How many red circles are there?"),
    video_prompt(["red", "blue", "red", "blue"], "Which colour comes first?"),
    image_prompt("blue", "Count the squares."),
    [{"role": "user", "content": "What is 2 + 3?"}],  # text only
    image_prompt((10, 200, 30), "What colour is the image?"),
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = build_tiny(tmp_path_factory.mktemp("tiny") / "m", seed=3)
    return load_model(path).eval(), load_processor(path)


@pytest.fixture(scope="module")
def trained(counting_sft):
    return load_model(counting_sft["model"]).eval(), load_processor(counting_sft["model"])


def reference_generate(model, processor, prompts, sampling, base_dirs=None):
    """The two-phase reference: ``generate`` up to the think budget, then (for rows without an
    end) ``</think><answer>`` where needed and a second ``generate`` over prompt + thoughts."""
    tok = processor.tokenizer
    pad_id, eos = tok.pad_token_id, eos_ids(model, tok)
    encoded = encode_prompts(processor, prompts, True, base_dirs)
    first = sample_grouped(model, encoded, sampling.think_budget, sampling, pad_id)
    suffix = tok(FORCE_ANSWER_SUFFIX, add_special_tokens=False)["input_ids"]
    close = tok.convert_tokens_to_ids(THINK_CLOSE)
    out, pending = [], []
    for i, ids in enumerate(first):
        ids, done = trim_at_eos(ids, eos, pad_id)
        mask, forced = [True] * len(ids), False
        if not done:
            if close not in ids:
                ids, mask, forced = ids + suffix, mask + [False] * len(suffix), True
            pending.append(i)
        out.append([ids, mask, forced, done])
    if pending and sampling.answer_budget > 0:
        cont = [extend_sample(encoded[i], out[i][0]) for i in pending]
        for i, ids in zip(pending, sample_grouped(model, cont, sampling.answer_budget, sampling, pad_id)):
            ids, done = trim_at_eos(ids, eos, pad_id)
            out[i][0], out[i][1], out[i][3] = out[i][0] + ids, out[i][1] + [True] * len(ids), done
    return [(ids, forced, not done, extend_sample(encoded[i], ids, trainable=mask).labels)
            for i, (ids, mask, forced, done) in enumerate(out)]


@pytest.mark.parametrize("budgets", [(6, 4), (12, 0), (3, 6)])
def test_greedy_decoding_equals_the_generate_reference(tiny, budgets):
    model, processor = tiny
    sampling = GenerationSettings(temperature=0.0, think_budget=budgets[0], answer_budget=budgets[1])
    ours = generate(model, processor, PROMPTS, sampling, batch_size=8)
    ref = reference_generate(model, processor, PROMPTS, sampling)
    assert [(c.token_ids, c.forced, c.truncated, c.sample.labels) for c in ours] == ref
    assert any(c.forced for c in ours)  # a random model never closes its thoughts this early


@pytest.mark.slow
def test_greedy_decoding_equals_the_reference_on_a_trained_model(trained, counting_sft):
    """The SFT model ends most answers itself: rows leave the batch at different steps."""
    from thinkvl.rl.data import load_prompts

    model, processor = trained
    prompts = load_prompts(counting_sft["train"])[:12]
    messages = [p.messages for p in prompts] + PROMPTS  # off-distribution prompts end elsewhere
    dirs = [p.base_dir for p in prompts] + [None] * len(PROMPTS)
    for think, answer in ((40, 16), (8, 8)):
        sampling = GenerationSettings(temperature=0.0, think_budget=think, answer_budget=answer)
        ours = generate(model, processor, messages, sampling, base_dirs=dirs, batch_size=16)
        ref = reference_generate(model, processor, messages, sampling, dirs)
        assert [(c.token_ids, c.forced, c.truncated, c.sample.labels) for c in ours] == ref
        lengths = {len(c.token_ids) for c in ours}
        assert len(lengths) > 1 and any(not c.truncated for c in ours)


def test_groups_share_their_prompt_and_mask_the_forced_suffix(tiny):
    model, processor = tiny
    torch.manual_seed(0)
    sampling = GenerationSettings(temperature=1.0, think_budget=5, answer_budget=3)
    groups = generate_groups(model, processor, PROMPTS[:3], 4, sampling, batch_size=8)  # 2 prompts a chunk
    assert [len(g) for g in groups] == [4, 4, 4]
    suffix = processor.tokenizer(FORCE_ANSWER_SUFFIX, add_special_tokens=False)["input_ids"]
    think_close = processor.tokenizer.convert_tokens_to_ids("</think>")
    for prompt, group in zip(PROMPTS[:3], groups):
        enc = encode_prompts(processor, [prompt])[0]
        assert all(c.sample.vision is group[0].sample.vision for c in group)  # one vision input per group
        for c in group:
            assert c.sample.input_ids[:c.sample.prompt_len] == enc.input_ids
            assert c.sample.input_ids[c.sample.prompt_len:] == c.token_ids
            labels = c.sample.labels[c.sample.prompt_len:]
            if not c.forced:  # sampling from the whole distribution may close the think (or end)
                assert (think_close in c.token_ids[:5] or len(c.token_ids) <= 5) and IGNORE not in labels
                continue
            assert c.token_ids[5:5 + len(suffix)] == suffix
            assert labels[5:5 + len(suffix)] == [IGNORE] * len(suffix)  # forced, not learned
            assert labels[:5] == c.token_ids[:5] and len(c.token_ids) <= 5 + len(suffix) + 3
    assert sum(c.forced for g in groups for c in g) >= 6
    texts = {c.text for g in groups for c in g}
    assert len(texts) > 3  # sampled, not n copies of one completion


def test_draw_follows_the_distribution_and_skips_zero_probability():
    torch.manual_seed(0)
    p = torch.tensor([[0.0, 0.5, 0.0, 0.2, 0.3, 0.0]]).repeat(60000, 1)
    freq = torch.bincount(draw(p), minlength=6).float() / p.shape[0]
    assert freq[[0, 2, 5]].sum() == 0
    assert freq[[1, 3, 4]].tolist() == pytest.approx([0.5, 0.2, 0.3], abs=0.01)


def test_top_k_fast_path_matches_the_generate_processors(tiny):
    model, processor = tiny
    pad = processor.tokenizer.pad_token_id
    processors, do_sample = logits_processors(model, GenerationSettings(temperature=0.7, top_k=50), pad, 4, 1, "cpu")
    fast = NextToken(processors, do_sample)
    assert fast.fast and fast.top_k and fast.suppress is not None and fast.temperature == 0.7
    slow = NextToken(processors, do_sample)
    slow.fast = False
    torch.manual_seed(1)
    logits = (torch.randn(1, model.config.text_config.vocab_size) * 3).repeat(40000, 1)
    seq = torch.zeros((40000, 4), dtype=torch.long)
    expected = torch.softmax(processors(seq[:1], logits[:1].clone()), -1)[0]
    for sampler in (fast, slow):
        freq = torch.bincount(sampler(seq, logits), minlength=logits.shape[1]).float() / logits.shape[0]
        assert (freq - expected).abs().max() < 0.012
        assert freq[expected == 0].sum() == 0  # suppressed tokens and tokens outside the top-k


def _samples(model, processor, n=3):
    """Rollout samples listed group by group, and each one's group number."""
    torch.manual_seed(0)
    groups = generate_groups(model, processor, PROMPTS, n, GenerationSettings(temperature=1.0, think_budget=7, answer_budget=4))
    return [c.sample for g in groups for c in g], [i for i, g in enumerate(groups) for _ in g]


def reference_logprobs(model, samples, pad_id, entropy=False):
    """One plain forward per sequence (right-padded, attention mask): each sample's trained
    tokens' log-probabilities (and, if asked, their next-token entropies)."""
    out, ents = [], []
    for s in samples:
        batch = collate([s], pad_id)
        labels = batch.pop("labels")
        logits = model(**batch, use_cache=False).logits[:, :-1].float()
        log_probs = torch.log_softmax(logits, -1)
        lp = log_probs.gather(-1, labels[:, 1:].clamp(min=0).unsqueeze(-1)).squeeze(-1)
        keep = labels[:, 1:] != IGNORE
        out.append(lp[keep])
        ents.append(-(log_probs.exp() * log_probs).sum(-1)[keep])
    return (out, ents) if entropy else out


def test_prompt_shared_logprobs_and_gradients_equal_plain_forwards(tiny):
    model, processor = tiny
    samples, groups = _samples(model, processor)
    pad = processor.tokenizer.pad_token_id
    adv = torch.linspace(-1.0, 1.0, len(samples))
    plan = plan_micro_batches(samples, 8, groups)
    assert sorted(r for mb in plan for r in mb.rows) == list(range(len(samples)))
    positions = Positions(model)

    model.zero_grad()
    ours, our_entropy = {}, {}
    for mb in plan:
        batch = collate_prefix([samples[i] for i in mb.rows], [groups[i] for i in mb.rows], pad, positions)
        assert batch.prompt["input_ids"].shape[0] < len(mb.rows)  # distinct prompts only
        logp, mask, entropy = completion_logprobs(model, batch, with_entropy=True)
        assert entropy.shape == logp.shape
        (logp.sum(1) * adv[mb.rows]).sum().backward()
        for j, r in enumerate(mb.rows):
            ours[r], our_entropy[r] = logp[j][mask[j]].detach(), entropy[j][mask[j]]
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    model.zero_grad()
    ref, ref_entropy = reference_logprobs(model, samples, pad, entropy=True)
    sum((lp.sum() * a) for lp, a in zip(ref, adv)).backward()
    for r in range(len(samples)):
        assert torch.allclose(ours[r], ref[r].detach(), atol=1e-5)
        assert torch.allclose(our_entropy[r], ref_entropy[r].detach(), atol=1e-4)  # the logged entropy
    visual = [n for n in grads if ".visual." in n or n.startswith("model.visual")]
    assert visual and all(grads[n].abs().sum() > 0 for n in visual[:3])  # the tower learns through the cache
    for n, p in model.named_parameters():
        if p.grad is not None:
            scale = float(p.grad.abs().max())
            assert float((grads[n] - p.grad).abs().max()) <= 1e-4 * scale + 1e-6, (n, scale)
    model.zero_grad()


def test_update_loss_is_the_per_sample_normalised_objective(tiny):
    """On-policy the ratio is 1, so the per-sample-normalised loss is the mean of −A."""
    model, processor = tiny
    samples, groups = _samples(model, processor)
    adv = [(i % 4) * 0.5 - 0.2 for i in range(len(samples))]
    actor = Actor(model, processor.tokenizer.pad_token_id, AlgoConfig(micro_batch=5), OptimConfig(lr=0.0))
    stats = actor.update(split(samples, adv, groups))
    assert stats["loss"] == pytest.approx(-sum(adv) / len(adv), abs=1e-5)
    assert stats["clip_fraction"] == 0.0 and stats["grad_norm"] > 0 and stats["entropy"] > 0
    assert stats["ratio_deviation"] == 0.0 and stats["optimizer_steps"] == 1
    model.eval()


def test_samples_of_one_group_must_share_their_prompt(tiny):
    model, processor = tiny
    samples, _ = _samples(model, processor)
    actor = Actor(model, processor.tokenizer.pad_token_id, optim=OptimConfig(lr=0.0))
    with pytest.raises(ValueError, match="group 0 continue different prompts"):
        actor.update(split(samples[:6], [1.0] * 6, [0] * 6))  # two prompts' completions as one group
    model.eval()


def _recorded_steps(actor):
    """Parameters and gradients as each optimizer step finds them."""
    seen = []

    def record(*_):
        seen.append(({n: p.detach().clone() for n, p in actor.model.named_parameters()},
                     {n: p.grad.clone() for n, p in actor.model.named_parameters() if p.grad is not None}))

    actor.optimizer.register_step_pre_hook(record)
    return seen


def naive_clipped_step(model, samples, advs, old, pad, clip_low, clip_high):
    """The naive per-sample reference of one optimizer step: a plain forward per sample, its
    tokens' −min(ρA, clip(ρ, 1−ε_low, 1+ε_high)A), their mean, then a mean over the
    mini-batch's samples; and how many tokens each bound held (A > 0 above, A < 0 below)."""
    total, held = 0.0, {"low": 0, "high": 0, "tokens": 0}
    for lp, o, a in zip(reference_logprobs(model, samples, pad), old, advs):
        ratio = torch.exp(lp - o)
        bounded = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
        total = total + (-torch.minimum(ratio * a, bounded * a)).mean()
        r = ratio.detach()
        held["high"] += int((r > 1.0 + clip_high).sum()) if a > 0 else 0
        held["low"] += int((r < 1.0 - clip_low).sum()) if a < 0 else 0
        held["tokens"] += len(r)
    return total / len(samples), held


def run_mini_batches(tiny, clip_low, clip_high, k=2, lr=1e-2):
    """Two mini-batches on a copy of the tiny model, against the naive reference of each step."""
    base, processor = tiny
    pad = processor.tokenizer.pad_token_id
    samples, groups = _samples(base, processor)
    advs = [((i * 7) % 5) / 2.0 - 0.9 for i in range(len(samples))]  # both signs, never 0
    model = copy.deepcopy(base)
    actor = Actor(model, pad, AlgoConfig(micro_batch=4, clip_low=clip_low, clip_high=clip_high),
                  OptimConfig(lr=lr, weight_decay=0.0, grad_clip=1e9, schedule="constant"))
    steps = _recorded_steps(actor)
    parts = split(samples, advs, groups, k=k)
    assert len(parts) == k and all(len(set(mb.groups)) >= 2 for mb in parts)  # whole groups
    stats = actor.update(parts)
    assert len(steps) == k and stats["optimizer_steps"] == k
    assert actor.scheduler.last_epoch == 1 and stats["lr"] == lr  # the schedule counts RL steps

    reference = copy.deepcopy(base)
    with torch.no_grad():
        old = [lp.detach() for lp in reference_logprobs(reference, samples, pad)]  # the sampling policy
    start, out = 0, []
    for mb, (params, grads) in zip(parts, steps):
        reference.load_state_dict(params)
        reference.zero_grad()
        rows = range(start, start + len(mb.samples))
        start += len(mb.samples)
        loss, held = naive_clipped_step(reference, mb.samples, mb.advantages, [old[r] for r in rows], pad,
                                        clip_low, clip_high)
        loss.backward()
        for n, p in reference.named_parameters():
            if p.grad is not None:
                scale = float(p.grad.abs().max())
                assert float((grads[n] - p.grad).abs().max()) <= 1e-4 * scale + 1e-6, (n, scale)
        out.append((float(loss.detach()), held))
    assert stats["loss"] == pytest.approx(sum(loss for loss, _ in out) / k, abs=1e-5)
    tokens = sum(h["tokens"] for _, h in out)
    assert stats["clip_fraction_low"] == pytest.approx(sum(h["low"] for _, h in out) / tokens)
    assert stats["clip_fraction_high"] == pytest.approx(sum(h["high"] for _, h in out) / tokens)
    return stats, out


def test_second_mini_batch_moves_the_ratio_and_clips_as_the_naive_reference(tiny):
    stats, steps = run_mini_batches(tiny, clip_low=0.05, clip_high=0.1)
    (_, first), (_, second) = steps
    assert first["low"] == first["high"] == 0  # step 1: the sampling policy itself, ratio 1
    assert second["low"] > 0 and second["high"] > 0  # step 2: the policy moved; both bounds hold somewhere
    assert stats["ratio_deviation"] > 0.01 and stats["clip_fraction"] > 0
    assert stats["clip_fraction"] == pytest.approx(stats["clip_fraction_low"] + stats["clip_fraction_high"])


@pytest.mark.parametrize("side", ["high", "low"])
def test_each_bound_clips_only_its_own_side_through_the_actor(tiny, side):
    """A tight bound on one side and an unreachable one on the other: only tokens whose advantage
    has the tight bound's sign may clip (A > 0 above 1 + ε_high, A < 0 below 1 − ε_low)."""
    tight, loose = 0.02, 0.999
    stats, steps = run_mini_batches(tiny, clip_low=tight if side == "low" else loose,
                                    clip_high=tight if side == "high" else loose)
    other = "low" if side == "high" else "high"
    assert steps[1][1][side] > 0 and steps[1][1][other] == 0
    assert stats[f"clip_fraction_{side}"] > 0 and stats[f"clip_fraction_{other}"] == 0.0


def test_a_step_without_images_moves_the_vision_tower_on_its_momentum(tiny):
    """An image mini-batch, then a text-only one: the vision tower gets a zero gradient in the
    second step, and AdamW moves it on its momentum, as it does under FSDP (where every
    parameter always gets a reduced gradient), instead of skipping it on one process only."""
    base, processor = tiny
    samples, groups = _samples(base, processor)
    image, text = [0, 1, 2], [9, 10, 11]  # PROMPTS[0] has an image, PROMPTS[3] is text only
    model = copy.deepcopy(base)
    actor = Actor(model, processor.tokenizer.pad_token_id, optim=OptimConfig(lr=1e-3))
    steps = _recorded_steps(actor)
    parts = [split([samples[i] for i in rows], [1.0, -0.5, 0.25], [groups[i] for i in rows])[0]
             for rows in (image, text)]
    actor.update(parts)
    _, (during, grads) = steps
    vision = [n for n in during if ".visual." in n or n.startswith("visual")]
    assert vision and all(float(grads[n].abs().max()) == 0.0 for n in vision)
    after = {n: p.detach() for n, p in model.named_parameters()}
    assert all(float((after[n] - during[n]).abs().max()) > 0 for n in vision)


def test_vision_lr_scale_splits_the_optimizer(tiny):
    model, processor = tiny
    pad = processor.tokenizer.pad_token_id
    one = Actor(model, pad, optim=OptimConfig(lr=1e-3))
    assert {g["lr"] for g in one.optimizer.param_groups} == {1e-3}
    actor = Actor(model, pad, optim=OptimConfig(lr=1e-3, vision_lr_scale=0.1))
    names = {id(p): n for n, p in model.named_parameters()}
    vision = [p for g in actor.optimizer.param_groups if g["lr"] == pytest.approx(1e-4) for p in g["params"]]
    text = [p for g in actor.optimizer.param_groups if g["lr"] == pytest.approx(1e-3) for p in g["params"]]
    assert all(".visual." in names[id(p)] or names[id(p)].startswith("visual") for p in vision)
    assert not any(".visual." in names[id(p)] for p in text)
    assert len(text) + len(vision) == len(list(model.parameters()))
    assert actor.optimizer.param_groups[0]["params"][0] in text  # the language model comes first


def test_filler_runs_the_vision_tower_on_text_only_batches(tiny):
    from thinkvl.runtime.filler import dummy_vision_item

    model, processor = tiny
    pad = processor.tokenizer.pad_token_id
    torch.manual_seed(0)
    text_only = [c.sample for c in generate_groups(model, processor, [PROMPTS[3]], 3,
                                                    GenerationSettings(temperature=1.0, think_budget=4, answer_budget=2))[0]]
    calls = []
    hook = model.model.visual.register_forward_hook(lambda *a: calls.append(1))
    try:
        losses = {}
        for name, filler in (("plain", None), ("filler", dummy_vision_item(processor).sample)):
            actor = Actor(model, pad, optim=OptimConfig(lr=0.0), filler=filler)
            calls.clear()
            losses[name] = actor.update(split(text_only, [1.0, -0.5, 0.25], [0, 0, 0]))["loss"]
            losses[name + "_calls"] = len(calls)
    finally:
        hook.remove()
    assert losses["plain_calls"] == 0 and losses["filler_calls"] == 1  # once per forward pass set
    assert losses["plain"] == pytest.approx(losses["filler"], abs=1e-7)  # the filler adds no loss
    model.eval()


def test_vision_lr_scale_zero_freezes_the_vision_tower(tmp_path):
    from thinkvl.model.factory import build_tiny, load_model
    from thinkvl.runtime.optim import freeze_vision, is_vision_param

    folder = build_tiny(tmp_path / "m", corpus=["How many red squares are there?"] * 4, calibrate=False)
    model = load_model(folder)
    freeze_vision(model, 0.1)
    assert all(p.requires_grad for p in model.parameters())
    freeze_vision(model, 0)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen and frozen == {n for n, _ in model.named_parameters() if is_vision_param(n)}
    actor = Actor(model, 0, optim=OptimConfig(lr=1e-3, vision_lr_scale=0))
    trained = [p for g in actor.optimizer.param_groups for p in g["params"]]
    assert len(trained) == len(list(model.parameters())) - len(frozen)
