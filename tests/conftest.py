"""Fixtures shared across test folders (expensive: built once per session)."""

import pytest


@pytest.fixture(scope="session")
def counting_sft(tmp_path_factory):
    """A tiny model after a short SFT on the token-aligned counting world: at temperature 1 it
    writes the answer protocol in 58-68% of rollouts and is right in 26-30% (measured over 128
    rollouts, HF and vLLM engines), so groups carry signal; a 16-rollout pre-flight sample can
    exceed the default 50% malformed limit, so mechanics tests that sample with another engine
    raise it. Shared by the SFT and RL learning tests and the RL mechanics tests.

    Its cost (world + 100 SFT steps) is charged to the first test that uses it, inside that
    test's timeout: 92 s of CPU (an upper bound for a quiet 2-core machine), 84-262 s of wall
    time at load averages 5-9. Every user keeps a timeout of at least 600 s."""
    from thinkvl.data.synthetic import generate_world
    from thinkvl.train.sft import load_sft_config, run_sft

    root = tmp_path_factory.mktemp("rl_world")
    generate_world(root / "world", per_domain=1200, seed=2, domains=["counting"], levels=(1, 2),
                   progress=False)
    cfg = load_sft_config("demo_sft", [
        f"model.path={root / 'init'}", "model.init_if_missing=tiny",
        f"data.train={root / 'world' / 'sft.jsonl'}", "train.steps=100", "run.save_every=0",
        # the rows the RL tests' thresholds were measured with (demo_sft before 256-token rows)
        "data.seq_len=512", "data.max_image_tokens=256", "data.max_video_tokens=384",
        "train.packs_per_step=8", "train.micro_batch_packs=8",
        f"run.out={root / 'sft'}", "run.progress=false", "run.sinks=[jsonl]"])
    final = run_sft(cfg)
    return {"model": str(final), "train": str(root / "world" / "rl_train.jsonl"),
            "eval": str(root / "world" / "rl_eval.jsonl"), "root": root}


@pytest.fixture(scope="session")
def vllm_tiny(tmp_path_factory):
    """One in-process vLLM engine (its CPU build here) on a random tiny model, shared by the
    session's vLLM tests (start-up ~10 s). Tests that change its weights put them back."""
    from thinkvl.model.factory import build_tiny
    from thinkvl.model.vllm_engine import EngineSettings, close_engine, start_engine

    path = build_tiny(tmp_path_factory.mktemp("vllm_tiny"), seed=0)
    llm = start_engine(path, EngineSettings(max_model_len=4096))
    yield {"path": path, "llm": llm}
    close_engine(llm)


@pytest.fixture(scope="session")
def vllm_prompts(tmp_path_factory):
    """Synthetic RL prompts, four per image domain and eight videos (36, every domain)."""
    from thinkvl.data.synthetic import generate_world
    from thinkvl.eval.heldout import first_per_domain
    from thinkvl.rl.data import load_prompts

    root = tmp_path_factory.mktemp("vllm_world")
    generate_world(root, per_domain=4, seed=3, progress=False)
    prompts = load_prompts(root / "rl_eval.jsonl")
    images = first_per_domain([p for p in prompts if p.domain != "video"], 4, lambda p: p.domain)
    videos = [p for p in prompts if p.domain == "video"][:8]
    return images + videos
