"""Process-group ownership: thinkvl leaves a group it did not start (an in-process vLLM engine's
one-process gloo group) and destroys the one it joined. Each case runs in a fresh interpreter:
the test session itself may already hold a group (the shared vLLM engine starts one)."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap


def _run(code: str, env: dict | None = None) -> None:
    import os

    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cleanup_leaves_a_group_someone_else_started(tmp_path):
    _run(f"""
        import torch.distributed as dist
        from thinkvl.runtime import distributed as D

        dist.init_process_group("gloo", init_method="file://{tmp_path / 'store'}", rank=0, world_size=1)
        info = D.init_distributed()  # no torchrun environment: a single process, group untouched
        assert not info.distributed
        D.cleanup()
        assert dist.is_initialized(), "the other library's group was destroyed"
    """)


def test_cleanup_leaves_the_group_thinkvl_joined():
    _run("""
        import torch.distributed as dist
        from thinkvl.runtime import distributed as D

        info = D.init_distributed()
        assert dist.is_initialized() and info.world_size == 1
        D.cleanup()
        assert not dist.is_initialized()
    """, env={"RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_port())})
