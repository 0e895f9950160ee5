"""RL under ``torchrun --nproc_per_node 2`` (gloo, CPU, FSDP2).

* The actor's update on two ranks equals the single-process update on the union of their
  samples (same gradient norm, same new weights), with one rank holding only image groups and
  the other only text-only and video groups — text-only micro-batches must run the vision
  tower through the dummy filler, or the ranks' collectives would not line up (a hang).
* Two full RL steps (``thinkvl rl``) complete with sane metrics, each rank rolling out its
  share of the drawn prompts. (The fixture's short SFT rarely answers in a box, so its groups
  seldom carry a signal; the sharded update itself is checked by the first test.)
"""

import json
import math
import os
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

from thinkvl.config import dump_config
from thinkvl.track import read_metrics

pytestmark = pytest.mark.slow

ACTOR_SCRIPT = textwrap.dedent('''
    import copy, sys
    import torch
    import torch.distributed as dist
    from PIL import Image
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
    from thinkvl.model.factory import load_model, load_processor
    from thinkvl.model.generate import Sampling, generate_groups
    from thinkvl.rl.actor import Actor
    from thinkvl.rl.batch import MiniBatch, split
    from thinkvl.runtime.distributed import init_distributed, shard_model
    from thinkvl.runtime.filler import dummy_vision_item
    from thinkvl.rl.config import AlgoConfig
    from thinkvl.runtime.optim import OptimConfig

    info = init_distributed()
    model_dir, out = sys.argv[1], sys.argv[2]
    processor = load_processor(model_dir)
    base = load_model(model_dir)

    def image(color, text):
        return [{"role": "user", "content": [{"type": "image", "image": Image.new("RGB", (64, 48), color)},
                                             {"type": "text", "text": text}]}]

    video = [{"role": "user", "content": [{"type": "video", "video": [Image.new("RGB", (32, 32), c)
                                                                      for c in ("red", "blue", "red", "blue")]},
                                          {"type": "text", "text": "Which colour comes first?"}]}]
    prompts = [image("red", "How many?"), image("blue", "Count the squares."),
               [{"role": "user", "content": "What is 2 + 3?"}], video, [{"role": "user", "content": "Name a colour."}]]
    torch.manual_seed(0)  # the same rollouts on both ranks
    groups = generate_groups(base, processor, prompts, 3, Sampling(think_budget=6, answer_budget=3))
    samples = [c.sample for g in groups for c in g]
    advs = [((i * 7) % 5) / 2.0 - 0.8 for i in range(len(samples))]
    mine = {0: [0, 1], 1: [2, 3, 4]}[info.rank]  # rank 1 never sees an image
    rows = [g * 3 + j for g in mine for j in range(3)]
    kw = dict(algo=AlgoConfig(micro_batch=2), optim=OptimConfig(lr=1e-2, vision_lr_scale=0.5,
                                                              weight_decay=0.0))
    model = shard_model(copy.deepcopy(base), info)
    actor = Actor(model, processor.tokenizer.pad_token_id, filler=dummy_vision_item(processor).sample, **kw)
    n_tokens = sum(sum(l != -100 for l in s.labels) for s in samples)
    groups = [i // 3 for i in range(len(samples))]
    stats = actor.update([MiniBatch([samples[i] for i in rows], [advs[i] for i in rows], [groups[i] for i in rows],
                                    len(samples), n_tokens)])
    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if info.rank == 0:
        torch.save({"state": full, "stats": stats, "samples": samples, "advs": advs, "groups": groups, "kw": kw},
                   out)
    dist.barrier()
    dist.destroy_process_group()
''')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(args: list[str], timeout: int = 240) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc


def test_fsdp_update_equals_the_single_process_update(tmp_path):
    from thinkvl.model.factory import build_tiny, load_model, load_processor
    from thinkvl.rl.actor import Actor
    from thinkvl.rl.batch import split

    model_dir = build_tiny(tmp_path / "tiny", seed=3)
    script = tmp_path / "actor_fsdp.py"
    script.write_text(ACTOR_SCRIPT)
    torchrun([str(script), str(model_dir), str(tmp_path / "out.pt")])
    got = torch.load(tmp_path / "out.pt", weights_only=False)

    base, ref = load_model(model_dir), load_model(model_dir)
    single = Actor(ref, load_processor(model_dir).tokenizer.pad_token_id, **got["kw"])
    stats = single.update(split(got["samples"], got["advs"], got["groups"]))
    assert got["stats"]["grad_norm"] == pytest.approx(stats["grad_norm"], rel=1e-4)
    for key in ("loss", "entropy", "clip_fraction"):  # whole-batch statistics, reduced over ranks
        assert got["stats"][key] == pytest.approx(stats[key], abs=1e-5), key
    assert stats["loss"] != 0.0
    lr = got["kw"]["optim"].lr
    before, after = base.state_dict(), ref.state_dict()
    for name, value in after.items():
        # AdamW's first step moves every weight by about ±lr (×0.5 in the vision tower): the
        # sharded run must land on the same weights, up to float noise on near-zero gradients
        # (gradients of the size of Adam's eps move by a few % of lr on summation-order noise).
        assert float((got["state"][name] - value).abs().max()) < 0.05 * lr, name
    assert max(float((after[k] - before[k]).abs().max()) for k in after) > 0.5 * lr
    vision = [k for k in after if k.startswith("model.visual.")]
    assert max(float((after[k] - before[k]).abs().max()) for k in vision) <= 0.5 * lr * 1.01  # scaled lr


def test_two_rl_steps_under_torchrun(counting_sft, rl_config, tmp_path):
    out = tmp_path / "run"
    cfg = rl_config(counting_sft, out, **{"rl.prompts_per_step": 6, "rl.micro_batch": 8})
    config = tmp_path / "rl.yaml"
    dump_config(cfg, config)
    torchrun(["-m", "thinkvl.cli", "rl", "--config", str(config)])

    metrics = read_metrics(out)
    assert [m["step"] for m in metrics] == [1, 2]
    n = cfg.rollout.group_size
    for m in metrics:
        assert m["prompts_drawn"] >= 6
        shares = m["rank_rollouts"]
        assert len(shares) == 2 and all(s > 0 for s in shares)  # both ranks rolled out
        assert sum(shares) == m["prompts_drawn"] * n and abs(shares[0] - shares[1]) <= n  # split evenly
        assert m["totals"]["rollouts"] >= sum(shares)
        for key in ("reward", "accuracy", "response_tokens", "expansion"):
            assert math.isfinite(m[key])
        assert 0.0 <= m["accuracy"] <= 1.0 and m["response_tokens"] > 0
        if m["samples_trained"]:
            assert math.isfinite(m["loss"]) and m["grad_norm"] > 0 and m["entropy"] > 0
    rollouts = (out / "rollouts" / "step_000002.jsonl").read_text().splitlines()
    assert len(rollouts) == metrics[1]["prompts_drawn"] * n
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 2 and (out / "final" / "config.json").exists()
