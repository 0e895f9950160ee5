"""Precision for training: fp32 master weights always, bf16 compute on request, saved dtype chosen.

Public checkpoints are bf16. Loading one as it is and stepping AdamW on it loses every update
smaller than bf16's rounding step (a relative ~4e-3), which at RL learning rates (~1e-6) is almost
all of them. So a training stage loads the weights **in fp32** whatever the checkpoint holds
(``load_for_training``), keeps the optimizer and its state in fp32, and computes in bf16 only when
``optim.precision: bf16``: under FSDP2 through ``MixedPrecisionPolicy`` (bf16 parameters for the
forward/backward, fp32 gradient reduction, fp32 shards stepped), on one process through autocast.
Checkpoints and ``final/`` are written in ``run.save_dtype`` — by default the dtype the start
model was saved in, so a bf16 checkpoint stays a bf16 checkpoint (half the disk, what vLLM loads).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def saved_dtype(model_dir: str | Path) -> str:
    """The dtype a Hugging Face folder's weights were saved in (``config.json``), else float32."""
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "float32"
    for node in (config, config.get("text_config") or {}):
        name = node.get("dtype") or node.get("torch_dtype")
        if isinstance(name, str) and name.removeprefix("torch.") in DTYPES:
            return name.removeprefix("torch.")
    return "float32"


def resolve_save_dtype(setting: str, start_model: str | Path) -> torch.dtype:
    """``auto`` → the start model's saved dtype; else the named dtype."""
    name = saved_dtype(start_model) if setting == "auto" else setting
    if name not in DTYPES:
        raise ValueError(f"unknown save dtype {setting!r}; expected auto or one of {sorted(DTYPES)}")
    return DTYPES[name]


def load_for_training(path: str | Path, device=None):
    """The model of ``path`` with fp32 master weights (whatever dtype the folder holds)."""
    from thinkvl.model.factory import load_model

    return load_model(path, dtype=torch.float32, device=device)


def autocast(precision: str, device: torch.device, distributed: bool):
    """bf16 autocast on one process; under FSDP2 the ``MixedPrecisionPolicy`` casts instead."""
    if precision == "bf16" and not distributed:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def cast_state_dict(state: dict, dtype: torch.dtype) -> dict:
    """Floating-point tensors of ``state`` in ``dtype`` (integer buffers unchanged)."""
    return {k: v.to(dtype) if torch.is_tensor(v) and v.is_floating_point() else v for k, v in state.items()}
