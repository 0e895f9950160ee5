"""The vLLM rollout engine (vLLM's CPU build) against thinkvl's own decoding and actor.

One engine for the session (``vllm_tiny``); a random tiny model, so every rollout runs into
its budgets and force-answering is exercised on every prompt.
"""

import pytest
import torch

from thinkvl.model.generate import generate
from thinkvl.model.settings import GenerationSettings
from thinkvl.rl.actor import Actor, Positions, collate_prefix, completion_logprobs
from thinkvl.rl.batch import split
from thinkvl.rl.config import AlgoConfig
from thinkvl.rl.rollout.vllm import VLLMRollout
from thinkvl.runtime.optim import RL_DEFAULTS, OptimConfig

pytest.importorskip("vllm")

GREEDY = GenerationSettings(temperature=0.0, think_budget=12, answer_budget=6)
SAMPLED = GenerationSettings(temperature=1.0, think_budget=12, answer_budget=6)


@pytest.fixture(scope="module")
def hf(vllm_tiny):
    from thinkvl.model.factory import load_model, load_processor

    return load_model(vllm_tiny["path"]).eval(), load_processor(vllm_tiny["path"])


def engine(vllm_tiny, processor, sampling) -> VLLMRollout:
    return VLLMRollout(str(vllm_tiny["path"]), processor, sampling, llm=vllm_tiny["llm"])


def trainer_logprobs(model, pad_id, samples) -> list[list[float]]:
    """The actor's recomputed log-probs of each sample's trained tokens (one modality per call)."""
    out = {}
    for kind in ("image", "video"):
        rows = [i for i, s in enumerate(samples) if ("pixel_values_videos" in s.vision) == (kind == "video")]
        if not rows:
            continue
        batch = collate_prefix([samples[i] for i in rows], rows, pad_id, Positions(model))  # own groups
        with torch.no_grad():
            logp, mask, _ = completion_logprobs(model, batch)
        for j, i in enumerate(rows):
            out[i] = logp[j][mask[j]].tolist()
    return [out[i] for i in range(len(samples))]


def sampled_trained(completion) -> list[float]:
    return [lp for lp, keep in zip(completion.logprobs, completion.sample.labels[completion.sample.prompt_len:])
            if keep != -100]


def test_vllm_greedy_equals_hf_greedy_token_for_token(vllm_tiny, vllm_prompts, hf):
    model, processor = hf
    assert len(vllm_prompts) >= 32 and {p.domain for p in vllm_prompts} >= {"video", "counting", "chart"}
    want = generate(model, processor, [p.messages for p in vllm_prompts], GREEDY,
                    base_dirs=[p.base_dir for p in vllm_prompts])
    got = [g[0] for g in engine(vllm_tiny, processor, GREEDY).rollout(vllm_prompts, 1)]
    for p, w, g in zip(vllm_prompts, want, got):
        assert g.token_ids == w.token_ids, p.id
        assert (g.forced, g.truncated, g.text) == (w.forced, w.truncated, w.text), p.id
        assert g.sample.input_ids == w.sample.input_ids and g.sample.labels == w.sample.labels
    assert sum(c.forced for c in got) > 0  # the forced answer was continued from token ids
    assert any(c.sample.vision.get("pixel_values_videos") is not None for c in got)


def test_vllm_sampled_logprobs_equal_the_trainers(vllm_tiny, vllm_prompts, hf):
    model, processor = hf
    prompts = vllm_prompts[::4]  # every domain, videos included
    groups = engine(vllm_tiny, processor, SAMPLED).rollout(prompts, 4)
    flat = [c for g in groups for c in g]
    assert all(len(c.logprobs) == len(c.token_ids) for c in flat)
    recomputed = trainer_logprobs(model, processor.tokenizer.pad_token_id, [c.sample for c in flat])
    diffs = [abs(a - b) for c, r in zip(flat, recomputed) for a, b in zip(sampled_trained(c), r, strict=True)]
    assert len(diffs) > 100
    assert sum(diffs) / len(diffs) <= 1e-3
    # fed tokens (the forced </think><answer>) carry no sampler log-prob and are not trained
    forced = [c for c in flat if c.forced]
    assert forced and all(None in c.logprobs for c in forced)


def test_placeholder_tokens_are_never_sampled(vllm_tiny, vllm_prompts, hf):
    from thinkvl.model.suppress import placeholder_ids

    model, processor = hf
    hot = GenerationSettings(temperature=2.0, think_budget=24, answer_budget=0)  # flat: every token likely
    groups = engine(vllm_tiny, processor, hot).rollout(vllm_prompts[:4], 8)
    banned = placeholder_ids(model.config)
    assert all(not banned & set(c.token_ids) for g in groups for c in g)


def test_sync_moves_the_update_into_vllm(vllm_tiny, vllm_prompts, hf, tmp_path):
    from thinkvl.model.factory import load_model
    from thinkvl.model.vllm_engine import reload_weights

    base, processor = hf
    model = load_model(vllm_tiny["path"])
    eng = engine(vllm_tiny, processor, SAMPLED)
    prompts = vllm_prompts[::6]
    groups = eng.rollout(prompts, 4)
    samples = [c.sample for g in groups for c in g]
    actor = Actor(model, processor.tokenizer.pad_token_id, AlgoConfig(micro_batch=64),
                  OptimConfig(**{**RL_DEFAULTS, "lr": 1e-3}))
    actor.update(split(samples, [1.0 if i % 2 else -1.0 for i in range(len(samples))]))
    model.eval()
    fixed = [g[0] for g in groups]
    want = trainer_logprobs(model, processor.tokenizer.pad_token_id, [c.sample for c in fixed])
    completions = [c.token_ids for c in fixed]
    trained = [[lp for lp, lab in zip(row, c.sample.labels[c.sample.prompt_len:]) if lab != -100]
               for row, c in zip(eng.score(prompts, completions), fixed)]

    def gap(rows):
        d = [abs(a - b) for r, w in zip(rows, want) for a, b in zip(r, w, strict=True)]
        return sum(d) / len(d)

    try:
        assert gap(trained) > 1e-2  # before the sync vLLM still samples the old policy
        eng.sync(model)
        after = eng.score(prompts, completions)
        after = [[lp for lp, lab in zip(row, c.sample.labels[c.sample.prompt_len:]) if lab != -100]
                 for row, c in zip(after, fixed)]
        assert gap(after) <= 1e-3
        # the prompts were cached before the update: fresh samples must not reuse stale keys
        again = [c for g in eng.rollout(prompts, 2) for c in g]
        fresh = trainer_logprobs(model, processor.tokenizer.pad_token_id, [c.sample for c in again])
        d = [abs(a - b) for c, r in zip(again, fresh) for a, b in zip(sampled_trained(c), r, strict=True)]
        assert sum(d) / len(d) <= 1e-3
    finally:  # the session's engine goes back to the checkpoint's weights
        reload_weights(vllm_tiny["llm"], base.state_dict().items())


def test_closing_an_engine_leaves_the_others_working(vllm_tiny, vllm_prompts, hf):
    """An evaluation engine closed mid-run must not tear down the process-wide state that the
    rollout engine (here the session's) still uses."""
    from thinkvl.model.vllm_engine import EngineSettings, close_engine, start_engine

    _, processor = hf
    other = start_engine(vllm_tiny["path"], EngineSettings(max_model_len=1024, cpu_kv_cache_gib=0.05))
    close_engine(other)
    del other
    groups = engine(vllm_tiny, processor, GREEDY).rollout(vllm_prompts[:2], 1)
    assert len(groups) == 2 and groups[0][0].token_ids


def test_actor_measures_the_mismatch_and_applies_tis(vllm_tiny, vllm_prompts, hf):
    from thinkvl.model.factory import load_model

    _, processor = hf
    groups = engine(vllm_tiny, processor, SAMPLED).rollout(vllm_prompts[::9], 2)
    flat = [c for g in groups for c in g]
    samples, advs = [c.sample for c in flat], [1.0 + 0.5 * (i % 2) for i in range(len(flat))]
    pad = processor.tokenizer.pad_token_id

    def update(logprobs, cap):
        torch.manual_seed(0)
        algo = AlgoConfig(micro_batch=64, importance_correction="tis" if cap else "none",
                          importance_cap=cap or 2.0)
        actor = Actor(load_model(vllm_tiny["path"]), pad, algo, OptimConfig(**{**RL_DEFAULTS, "lr": 1e-3}))
        return actor.update(split(samples, advs, sampler_logprobs=logprobs, domains=["d"] * len(flat)))

    exact = update([c.logprobs for c in flat], None)
    per_domain = exact["mismatch_sums"].means()["d"]
    assert per_domain["tokens"] > 50 and per_domain["logp_abs_diff"] <= 1e-3 and per_domain["kl"] <= 1e-4
    # a sampler that was less sure than the trainer (log-probs 0.5 lower): ratio e^0.5, capped
    shifted = [[None if v is None else v - 0.5 for v in c.logprobs] for c in flat]
    plain, capped = update(shifted, None), update(shifted, 1.2)
    assert plain["mismatch_sums"].means()["d"]["logp_abs_diff"] == \
        pytest.approx(0.5, abs=1e-3)
    assert plain["loss"] < -0.5 and capped["loss"] == pytest.approx(1.2 * plain["loss"], rel=1e-4)
