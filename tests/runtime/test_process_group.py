"""Process-group ownership: thinkvl leaves a group it did not start (an in-process vLLM engine's)."""

from __future__ import annotations

import socket

import torch.distributed as dist

from thinkvl.runtime import distributed as D


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cleanup_leaves_a_group_someone_else_started(monkeypatch, tmp_path):
    assert not dist.is_initialized()
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        info = D.init_distributed()  # no torchrun environment: a single process, group untouched
        assert not info.distributed
        D.cleanup()
        assert dist.is_initialized()  # vLLM's group survives a finished SFT/RL run
    finally:
        dist.destroy_process_group()


def test_cleanup_leaves_the_group_thinkvl_joined(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(_port()))
    info = D.init_distributed()
    assert dist.is_initialized() and info.world_size == 1
    D.cleanup()
    assert not dist.is_initialized()
