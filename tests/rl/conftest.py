import pytest


@pytest.fixture(scope="session")
def counting_sft(tmp_path_factory):
    """A tiny model after a short SFT on the counting domain: well-formed answers, some correct."""
    from thinkvl.data.synthetic import generate_world
    from thinkvl.train.sft import load_sft_config, run_sft

    root = tmp_path_factory.mktemp("rl_world")
    generate_world(root / "world", per_domain=48, seed=1, domains=["counting"], progress=False)
    cfg = load_sft_config(None, [
        f"model.path={root / 'init'}", "model.init_if_missing=tiny", f"data.train={root / 'world' / 'sft.jsonl'}",
        "data.seq_len=1024", "data.max_image_tokens=256", "data.max_video_tokens=768",
        "train.steps=30", "train.packs_per_step=2", "optim.lr=2e-3", "optim.weight_decay=0.0",
        f"run.out={root / 'sft'}", "run.progress=false", "run.sinks=[jsonl]",
    ])
    final = run_sft(cfg)
    return {"model": str(final), "train": str(root / "world" / "rl_train.jsonl"),
            "eval": str(root / "world" / "rl_eval.jsonl")}


@pytest.fixture
def rl_config():
    return make_rl_config


def make_rl_config(setup, out, **over):
    from thinkvl.config import build_config
    from thinkvl.rl.config import RLConfig

    data = {"model": setup["model"], "data": {"train": setup["train"]},
            "rl": {"steps": 2, "prompts_per_step": 4},
            "rollout": {"group_size": 4, "think_budget": 24, "answer_budget": 8},
            "run": {"out": str(out), "save_every": 0, "sinks": ["jsonl"], "progress": False}}
    return build_config(RLConfig, data, [f"{k}={v}" for k, v in over.items()])
