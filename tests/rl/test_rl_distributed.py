"""RL under ``torchrun --nproc_per_node 2`` (gloo, CPU, FSDP2).

* The actor's update on two ranks equals the single-process update on the union of their
  samples (same gradient norm, same new weights), with one rank holding only image groups and
  the other only text-only and video groups — text-only micro-batches must run the vision
  tower through the dummy filler, or the ranks' collectives would not line up (a hang). Also
  in 7 mini-batches (7 optimizer steps, old log-probs from before the first: the ratio moves),
  more than rank 0 has samples: it joins one with a zero-weight filler mini-batch.
* Two full RL steps (``thinkvl rl``, 2 mini-batches) complete with sane metrics, each rank
  rolling out its share of the drawn prompts. (The fixture's short SFT rarely answers in a box, so its groups
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
    from thinkvl.model.generate import generate_groups
    from thinkvl.model.settings import GenerationSettings
    from thinkvl.rl.actor import Actor
    from thinkvl.rl.batch import MiniBatch, cut_points
    from thinkvl.runtime.distributed import init_distributed, shard_model
    from thinkvl.runtime.filler import dummy_vision_item
    from thinkvl.rl.config import AlgoConfig
    from thinkvl.runtime.optim import OptimConfig

    info = init_distributed()
    model_dir, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
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
    groups = generate_groups(base, processor, prompts, 3, GenerationSettings(temperature=1.0, think_budget=6, answer_budget=3))
    samples = [c.sample for g in groups for c in g]
    advs = [((i * 7) % 5) / 2.0 - 0.8 for i in range(len(samples))]
    groups = [i // 3 for i in range(len(samples))]
    owned = {0: [0, 1], 1: [2, 3, 4]}  # rank 1 never sees an image
    rows = {r: [g * 3 + j for g in gs for j in range(3)] for r, gs in owned.items()}
    # each rank's samples cut into k mini-batches, as StepBatch.mini_batches cuts them
    cuts = {r: cut_points([groups[i] for i in rows[r]], k) for r in rows}
    chunks = [[rows[r][cuts[r][j]:cuts[r][j + 1]] for r in (0, 1)] for j in range(k)]
    chunks = [c for c in chunks if c[0] or c[1]]
    tokens = lambda i: sum(l != -100 for l in samples[i].labels)
    mini_batches = []
    for chunk in chunks:
        both = chunk[0] + chunk[1]
        mine = chunk[info.rank] or rows[info.rank][:1]
        mini_batches.append(MiniBatch([samples[i] for i in mine], [advs[i] for i in mine],
                                      [groups[i] for i in mine], len(both), sum(map(tokens, both)),
                                      filler=not chunk[info.rank]))
    kw = dict(algo=AlgoConfig(micro_batch=2), optim=OptimConfig(lr=1e-2, vision_lr_scale=0.5,
                                                              weight_decay=0.0))
    model = shard_model(copy.deepcopy(base), info)
    actor = Actor(model, processor.tokenizer.pad_token_id, filler=dummy_vision_item(processor).sample, **kw)
    stats = actor.update(mini_batches)
    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if info.rank == 0:
        torch.save({"state": full, "stats": stats, "samples": samples, "advs": advs, "groups": groups, "kw": kw,
                    "chunks": chunks, "fillers": [mb.filler for mb in mini_batches]}, out)
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


@pytest.mark.parametrize("mini_batches", [1, 7])
def test_fsdp_update_equals_the_single_process_update(tmp_path, mini_batches):
    from thinkvl.model.factory import build_tiny, load_model, load_processor
    from thinkvl.rl.actor import Actor
    from thinkvl.rl.batch import MiniBatch

    model_dir = build_tiny(tmp_path / "tiny", seed=3)
    script = tmp_path / "actor_fsdp.py"
    script.write_text(ACTOR_SCRIPT)
    torchrun([str(script), str(model_dir), str(tmp_path / "out.pt"), str(mini_batches)])
    got = torch.load(tmp_path / "out.pt", weights_only=False)
    samples, advs, groups = got["samples"], got["advs"], got["groups"]
    assert len(got["chunks"]) == mini_batches and any(got["fillers"]) == (mini_batches == 7)

    base, ref = load_model(model_dir), load_model(model_dir)
    single = Actor(ref, load_processor(model_dir).tokenizer.pad_token_id, **got["kw"])
    union = [chunk[0] + chunk[1] for chunk in got["chunks"]]  # each step: both ranks' shares
    stats = single.update([MiniBatch([samples[i] for i in rows], [advs[i] for i in rows], [groups[i] for i in rows],
                                     len(rows), sum(sum(l != -100 for l in samples[i].labels) for i in rows))
                           for rows in union])
    assert got["stats"]["grad_norm"] == pytest.approx(stats["grad_norm"], rel=1e-4)
    for key in ("loss", "entropy", "clip_fraction", "clip_fraction_low", "clip_fraction_high", "ratio_deviation"):
        assert got["stats"][key] == pytest.approx(stats[key], abs=1e-5), key  # whole batch, reduced over ranks
    assert stats["loss"] != 0.0 and stats["optimizer_steps"] == mini_batches
    assert (stats["ratio_deviation"] > 0.01) == (mini_batches > 1)  # later steps see the policy move
    lr = got["kw"]["optim"].lr
    before, after = base.state_dict(), ref.state_dict()
    if mini_batches == 1:
        for name, value in after.items():
            # AdamW's first step moves every weight by about ±lr (×0.5 in the vision tower): the
            # sharded run must land on the same weights, up to float noise on near-zero gradients
            # (gradients of the size of Adam's eps move by a few % of lr on summation-order noise).
            assert float((got["state"][name] - value).abs().max()) < 0.05 * lr, name
    else:
        # Over 7 steps Adam turns that noise into up to ~1 lr on a few elements (measured: 12 of
        # 1.1M beyond 0.05 lr, all where the gradient is ~0); everything else must agree.
        diff = torch.cat([(got["state"][name] - value).abs().flatten() for name, value in after.items()])
        assert float((diff > 0.05 * lr).float().mean()) < 1e-4
    assert max(float((after[k] - before[k]).abs().max()) for k in after) > 0.5 * lr
    if mini_batches == 1:  # one step: exactly the scaled lr
        vision = [k for k in after if k.startswith("model.visual.")]
        assert max(float((after[k] - before[k]).abs().max()) for k in vision) <= 0.5 * lr * 1.01


def test_two_rl_steps_under_torchrun(counting_sft, rl_config, tmp_path):
    out = tmp_path / "run"
    cfg = rl_config(counting_sft, out, **{"rl.prompts_per_step": 6, "rl.micro_batch": 8, "rl.mini_batches": 2})
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
            assert 1 <= m["optimizer_steps"] <= 2  # one per mini-batch that has samples on some rank
    rollouts = (out / "rollouts" / "step_000002.jsonl").read_text().splitlines()
    assert len(rollouts) == metrics[1]["prompts_drawn"] * n
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 2 and (out / "final" / "config.json").exists()
