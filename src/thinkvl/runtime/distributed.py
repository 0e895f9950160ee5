"""Data-parallel training with PyTorch's own runtime: torchrun + FSDP2, nothing home-made.

Launched by ``torchrun`` (RANK/WORLD_SIZE/LOCAL_RANK in the environment) the process joins the
process group (NCCL on GPU, gloo on CPU) and ``shard_model`` applies FSDP2's ``fully_shard`` to
every transformer block (the model's ``_no_split_modules``: text decoder layers, vision blocks)
and then to the root. Run plainly, everything here degrades to single-process no-ops, so the
same trainer code serves a laptop and a cluster (multi-node rendezvous is torchrun's job).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


_JOINED = False  # whether thinkvl created the process group (and so may destroy it)


def init_distributed() -> DistInfo:
    """Join torchrun's process group if launched by torchrun; else a single process."""
    global _JOINED
    cuda = torch.cuda.is_available()
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return DistInfo(device=torch.device("cuda:0" if cuda else "cpu"))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    if not is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo",
                                device_id=device if cuda else None)
        _JOINED = True
    return DistInfo(rank=rank, world_size=world, local_rank=local, device=device)


def shard_model(model: torch.nn.Module, info: DistInfo, precision: str = "fp32") -> torch.nn.Module:
    """FSDP2: shard each transformer block, then the root (no-op on one process).

    Blocks are the modules named in the model's ``_no_split_modules`` (for GLM-4.1V the text
    decoder layers and the vision blocks), so any Hugging Face model works unchanged. With
    ``precision="bf16"`` the blocks compute in bf16 while the shards (master weights) stay fp32
    and gradients are reduced in fp32.
    """
    if not info.distributed:
        return model
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    mesh = init_device_mesh(info.device.type, (info.world_size,))
    kwargs: dict[str, Any] = {"mesh": mesh}
    if precision == "bf16":
        kwargs["mp_policy"] = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    block_names = set(getattr(model, "_no_split_modules", None) or [])
    blocks = [m for m in model.modules() if type(m).__name__ in block_names]
    if not blocks:
        raise ValueError(f"{type(model).__name__} names no transformer blocks (_no_split_modules); "
                         "FSDP would shard it as one unit — wrap its blocks explicitly")
    for block in blocks:
        fully_shard(block, **kwargs)
    fully_shard(model, **kwargs)
    return model


def collective_device() -> torch.device:
    """Where collective tensors must live: NCCL reduces only CUDA tensors, gloo CPU ones."""
    if is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _reduce(value, op) -> Any:
    if not is_initialized():
        return value
    device = collective_device()
    if isinstance(value, torch.Tensor):
        out = value.detach().to(device, copy=True)
        dist.all_reduce(out, op=op)
        return out.to(value.device)
    t = torch.tensor(float(value), dtype=torch.float64, device=device)
    dist.all_reduce(t, op=op)
    return t.item()


def all_reduce_sum(value: T) -> T:
    """Sum of a tensor or number over ranks (returned as a new value; unchanged when alone)."""
    return _reduce(value, dist.ReduceOp.SUM)


def all_reduce_max(value: T) -> T:
    return _reduce(value, dist.ReduceOp.MAX)


def all_gather_object(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (``[obj]`` when alone)."""
    if not is_initialized():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def gradient_sync(model, enabled: bool) -> None:
    """Under FSDP2, skip the gradient reduce-scatter of all but a step's last micro-batch
    (gradients accumulate unsharded and are reduced once); a no-op on one process."""
    if hasattr(model, "set_requires_gradient_sync"):
        model.set_requires_gradient_sync(enabled)


def barrier() -> None:
    if is_initialized():
        dist.barrier()


def cleanup() -> None:
    """Leave the process group thinkvl joined (safe to call when none was). A group another
    library started is left alone: an in-process vLLM engine starts a one-process gloo group,
    and destroying it breaks that engine for the rest of the process."""
    global _JOINED
    if _JOINED and is_initialized():
        dist.destroy_process_group()
    _JOINED = False
