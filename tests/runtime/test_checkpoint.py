"""Checkpoints: HF folder + trainer state, atomic writes, pruning, exact state restore."""

from __future__ import annotations

import random

import pytest
import torch

from thinkvl.model.factory import load_model, load_processor
from thinkvl.runtime import checkpoint as ckpt


def _setup(tiny):
    model = load_model(tiny)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (s + 1))
    ids = torch.randint(10, 200, (2, 12))
    model(input_ids=ids, labels=ids, use_cache=False).loss.backward()
    opt.step()
    sched.step()
    return model, opt, sched


def test_roundtrip_restores_everything(tiny, tmp_path):
    model, opt, sched = _setup(tiny)
    random.seed(7)
    torch.manual_seed(7)
    path = ckpt.save_checkpoint(tmp_path, 3, model, load_processor(tiny), opt, sched, extra={"data": {"x": 1}})
    assert path.name == "step_000003" and ckpt.latest_checkpoint(tmp_path) == path
    assert (path / "model" / "model.safetensors").exists() and (path / "model" / "tokenizer.json").exists()
    expect = (random.random(), torch.rand(3))

    fresh = load_model(tiny)
    opt2 = torch.optim.AdamW(fresh.parameters(), lr=1e-3)
    sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, lambda s: 1.0 / (s + 1))
    state = ckpt.load_checkpoint(path, fresh, opt2, sched2)
    assert state == {"step": 3, "extra": {"data": {"x": 1}}}
    assert (random.random(), torch.rand(3))[0] == expect[0]
    for (n, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), n
    assert sched2.last_epoch == sched.last_epoch
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert all(torch.equal(s1[k]["exp_avg"], s2[k]["exp_avg"]) for k in s1)
    # the checkpoint's model folder is a normal HF model
    assert type(load_model(path / "model")).__name__ == "Glm4vForConditionalGeneration"


def test_crash_while_saving_keeps_previous_checkpoint(tiny, tmp_path, monkeypatch):
    model, opt, sched = _setup(tiny)
    proc = load_processor(tiny)
    first = ckpt.save_checkpoint(tmp_path, 1, model, proc, opt, sched)

    real = ckpt._save_hf

    def crash(model, processor, sd, out, dtype=None):
        real(model, processor, sd, out, dtype)  # the model is written, then the process "dies"
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(ckpt, "_save_hf", crash)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(tmp_path, 2, model, proc, opt, sched)
    monkeypatch.setattr(ckpt, "_save_hf", real)
    assert ckpt.latest_checkpoint(tmp_path) == first
    assert not (tmp_path / "checkpoints" / "step_000002").exists()
    fresh = load_model(tiny)
    opt2 = torch.optim.AdamW(fresh.parameters(), lr=1e-3)
    sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, lambda s: 1.0)
    assert ckpt.load_checkpoint(first, fresh, opt2, sched2)["step"] == 1
    # the next save clears the debris and prunes to keep_last
    for step in (2, 3, 4):
        ckpt.save_checkpoint(tmp_path, step, model, proc, opt, sched, keep_last=2)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["latest", "step_000003", "step_000004"]


def test_latest_falls_back_to_scan_when_pointer_is_stale(tiny, tmp_path):
    model, opt, sched = _setup(tiny)
    path = ckpt.save_checkpoint(tmp_path, 5, model, load_processor(tiny), opt, sched)
    (tmp_path / "checkpoints" / "latest").write_text("step_000009\n")
    assert ckpt.latest_checkpoint(tmp_path) == path
    assert ckpt.latest_checkpoint(tmp_path / "nothing") is None


def test_export_final(tiny, tmp_path):
    model, _, _ = _setup(tiny)
    assert not ckpt.has_final(tmp_path)
    final = ckpt.export_final(tmp_path, model, load_processor(tiny))
    assert final == tmp_path / "final" and ckpt.has_final(tmp_path)
    again = load_model(final)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


class _Evil:
    """Unpickling this opens (creates) a file: stands in for any code a pickle may run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_pickle_is_refused_unread(tiny, tmp_path):
    """Issue 20, finding 1: trainer_state.pt was read with weights_only=False, so a crafted
    file in a run folder ran code on --resume."""
    model, opt, sched = _setup(tiny)
    path = ckpt.save_checkpoint(tmp_path, 1, model, load_processor(tiny), opt, sched,
                                extra={"data": {"x": 1}})
    state = torch.load(path / ckpt.STATE_FILE, weights_only=True)  # what thinkvl writes loads safely
    marker = tmp_path / "pwned"
    state["extra"] = {"data": _Evil(marker)}
    torch.save(state, path / ckpt.STATE_FILE)
    fresh = load_model(tiny)
    opt2 = torch.optim.AdamW(fresh.parameters(), lr=1e-3)
    with pytest.raises(ckpt.UnsafeCheckpoint, match="refused to load.*only resume from checkpoints you wrote"):
        ckpt.load_checkpoint(path, fresh, opt2)
    assert not marker.exists()


def test_export_clears_what_a_kill_left(tiny, tmp_path):
    """Issue 20, finding 11: .tmp-final-* folders stayed after a kill during export."""
    model, _, _ = _setup(tiny)
    for name in (".tmp-final-999999", ".old-final-999998"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(b"half")
    ckpt.export_final(tmp_path, model, load_processor(tiny))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final"]


def test_rl_state_round_trips_through_safe_loading(tiny, tmp_path):
    """What the RL trainer puts in ``extra`` (curriculum RNG with 128-bit ints, pass rates with
    gaps, counters) is plain data that weights_only loading accepts."""
    import numpy as np

    model, opt, sched = _setup(tiny)
    extra = {"curriculum": {"pass_rate": [None, 0.25], "ids": ["a", "b"],
                            "rng": np.random.default_rng(5).bit_generator.state},
             "expansion": {"value": 1.5, "last_invalid_rate": 0.2}, "counters": {"steps": 3}}
    np.random.seed(3)
    path = ckpt.save_checkpoint(tmp_path, 2, model, load_processor(tiny), opt, sched, extra=extra)
    expect = np.random.random()
    fresh = load_model(tiny)
    opt2 = torch.optim.AdamW(fresh.parameters(), lr=1e-3)
    sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, lambda s: 1.0)
    state = ckpt.load_checkpoint(path, fresh, opt2, sched2)
    assert state["extra"] == extra and np.random.random() == expect
