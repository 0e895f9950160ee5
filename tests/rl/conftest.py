import pytest


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
