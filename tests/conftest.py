"""Fixtures shared across test folders (expensive: built once per session)."""

import pytest


@pytest.fixture(scope="session")
def counting_sft(tmp_path_factory):
    """A tiny model after a short SFT on the token-aligned counting world: it writes the answer
    protocol at temperature 1 (RL's pre-flight passes) and is right about two times in three, so
    groups carry signal. Shared by the SFT and RL learning tests and the RL mechanics tests.

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
