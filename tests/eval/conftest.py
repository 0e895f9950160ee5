import json
from collections import defaultdict

import pytest


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    from thinkvl.model.factory import build_tiny

    return build_tiny(tmp_path_factory.mktemp("tiny"), seed=0)


@pytest.fixture(scope="session")
def tiny(tiny_dir):
    from thinkvl.model.factory import load_model, load_processor

    return load_model(tiny_dir), load_processor(tiny_dir)


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    from thinkvl.data.synthetic import generate_world

    root = tmp_path_factory.mktemp("world")
    generate_world(root, per_domain=4, seed=0, progress=False)
    return root


def _subset(world, per_domain: int):
    per = defaultdict(int)
    keep = []
    for line in (world / "rl_eval.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if per[rec["domain"]] < per_domain:
            per[rec["domain"]] += 1
            keep.append(line)
    path = world / f"eval_{per_domain}.jsonl"
    path.write_text("\n".join(keep) + "\n")
    return path


@pytest.fixture(scope="session")
def eval_file(world):
    """Two items per synthetic domain (16, every domain incl. video), beside the world's media."""
    return _subset(world, 2)


@pytest.fixture(scope="session")
def eval_one(world):
    """One item per synthetic domain (8, one of them a video)."""
    return _subset(world, 1)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """One intra-op thread: the tiny model gains nothing from two, and on a shared 2-core box
    two spinning OpenMP threads are up to 10x slower when another process holds a core."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
