"""Checkpoints that survive a crash at any moment and resume a run exactly.

Layout of ``run_dir/checkpoints/step_NNNNNN/``:
- ``model/``: an ordinary Hugging Face folder (safetensors + config + processor), loadable on its
  own by ``load_model`` / vLLM / any tool;
- ``trainer_state.pt``: full optimizer state, scheduler, step, every rank's RNG states (python,
  numpy, torch, CUDA) and the caller's ``extra`` (data position, curriculum, …), as tensors and
  plain containers only, read with ``torch.load(weights_only=True)``: a run folder is data,
  and a crafted pickle in it must never run code on ``--resume``; anything else in the file is
  refused with :class:`UnsafeCheckpoint`;
- ``master_weights.safetensors``: the fp32 master weights, when ``model/`` is saved in a lower
  precision (``run.save_dtype``), so a resumed run continues from the exact weights it trained.

Writing is atomic: everything goes into a temporary folder, is fsync'ed, and is renamed into
place; only then is ``checkpoints/latest`` (a one-line file) replaced atomically. A crash while
saving leaves the previous checkpoint and pointer untouched. Under FSDP2 the full model and
optimizer states are gathered to CPU on rank 0 (every rank takes part), and rank 0 writes.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from thinkvl.runtime import distributed as D

CHECKPOINTS = "checkpoints"
LATEST = "latest"
STATE_FILE = "trainer_state.pt"
MODEL_DIR = "model"
MASTER_FILE = "master_weights.safetensors"
FORMAT_VERSION = 2  # 2: numpy RNG state as a tensor, loadable with weights_only=True


class UnsafeCheckpoint(ValueError):
    """A trainer state that holds more than tensors and plain containers (refused unread)."""


def _options(**kw):
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(**kw)


def step_dir(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINTS / f"step_{step:06d}"


def rng_state() -> dict[str, Any]:
    """Every RNG's state as tensors and plain values (what ``weights_only`` loading accepts)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    numpy_state = {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                   "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}
    state = {"python": random.getstate(), "numpy": numpy_state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_pointer(ckpt_root: Path, name: str) -> None:
    tmp = ckpt_root / f".{LATEST}.tmp"
    with open(tmp, "w") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, ckpt_root / LATEST)
    _fsync_dir(ckpt_root)


def save_checkpoint(run_dir: str | Path, step: int, model, processor, optimizer, scheduler=None,
                    extra: dict | None = None, keep_last: int = 2, dtype: torch.dtype | None = None) -> Path:
    """Write ``checkpoints/step_NNNNNN`` atomically and point ``latest`` at it.

    Collective under FSDP: every rank must call it (with the same ``step``); ``extra`` is taken
    from rank 0 — gather per-rank state into it first. ``dtype``: the dtype of ``model/`` (default:
    the parameters' own). Returns the checkpoint folder.
    """
    from torch.distributed.checkpoint.state_dict import (
        get_model_state_dict,
        get_optimizer_state_dict,
    )

    run_dir = Path(run_dir)
    root = run_dir / CHECKPOINTS
    final = step_dir(run_dir, step)
    opts = _options(full_state_dict=True, cpu_offload=True)
    model_sd = get_model_state_dict(model, options=opts)
    optim_sd = get_optimizer_state_dict(model, optimizer, options=opts)
    rngs = D.all_gather_object(rng_state())
    if D.is_initialized() and torch.distributed.get_rank() != 0:
        D.barrier()
        return final
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".tmp-{final.name}-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        _save_hf(model, processor, model_sd, tmp / MODEL_DIR, dtype)
        if dtype is not None and dtype != torch.float32:
            from safetensors.torch import save_file

            save_file(_unshared(model_sd), str(tmp / MASTER_FILE))
        torch.save({
            "version": FORMAT_VERSION,
            "step": int(step),
            "optimizer": optim_sd,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "rng": rngs,
            "extra": extra or {},
        }, tmp / STATE_FILE)
        _fsync_tree(tmp)
        if final.exists():  # re-saving a step (after a resume): move the old copy aside first
            old = root / f".old-{final.name}-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
        _fsync_dir(root)
        _write_pointer(root, final.name)
        _prune(root, keep_last, keep=final.name)
    finally:
        D.barrier()
    return final


def _save_hf(model, processor, state_dict: dict, out: Path, dtype: torch.dtype | None = None) -> None:
    """The model as a Hugging Face folder from a full (gathered) state dict, in ``dtype``."""
    from thinkvl.runtime.precision import cast_state_dict

    inner = getattr(model, "module", model)
    if dtype is not None:
        state_dict = cast_state_dict(state_dict, dtype)
    inner.save_pretrained(out, state_dict=state_dict, safe_serialization=True)
    if dtype is not None:
        _record_dtype(out / "config.json", str(dtype).removeprefix("torch."))
    if processor is not None:
        processor.save_pretrained(out)


def _unshared(state: dict) -> dict:
    """Contiguous tensors, tied ones (shared storage) copied: safetensors refuses shared memory."""
    seen, out = set(), {}
    for key, value in state.items():
        value = value.contiguous()
        ptr = value.untyped_storage().data_ptr()
        out[key] = value.clone() if ptr in seen else value
        seen.add(ptr)
    return out


def _record_dtype(config_path: Path, name: str) -> None:
    """``save_pretrained`` writes the live parameters' dtype (fp32 masters) into ``config.json``;
    record the dtype the weights were actually written in, so ``dtype="auto"`` loads them so."""
    import json

    config = json.loads(config_path.read_text(encoding="utf-8"))

    def fix(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("dtype", "torch_dtype") and isinstance(value, str):
                    node[key] = name
                else:
                    fix(value)

    fix(config)
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _complete(path: Path) -> bool:
    return path.is_dir() and (path / STATE_FILE).exists() and (path / MODEL_DIR / "config.json").exists()


def _steps(root: Path) -> list[Path]:
    found = [p for p in root.glob("step_*") if p.name[5:].isdigit() and _complete(p)]
    return sorted(found, key=lambda p: int(p.name[5:]))


def _prune(root: Path, keep_last: int, keep: str) -> None:
    steps = _steps(root)
    for old in steps[:-keep_last] if keep_last > 0 else []:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
    _clear_debris(root, (".tmp-step_*", ".old-step_*"))  # left by a crash mid-save


def _clear_debris(folder: Path, patterns: tuple[str, ...]) -> None:
    """Remove half-written folders a killed save or export left behind."""
    for pattern in patterns:
        for stale in folder.glob(pattern):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest complete checkpoint of a run (the ``latest`` pointer, else a scan), or None."""
    root = Path(run_dir) / CHECKPOINTS
    pointer = root / LATEST
    if pointer.exists():
        path = root / pointer.read_text().strip()
        if _complete(path):
            return path
    steps = _steps(root) if root.exists() else []
    return steps[-1] if steps else None


def load_checkpoint(path: str | Path, model, optimizer, scheduler=None) -> dict:
    """Restore the fp32 model weights, optimizer, scheduler and this rank's RNG from ``path``.

    Collective under FSDP (rank 0 reads, then broadcasts). Returns ``{"step", "extra"}``.
    """
    from torch.distributed.checkpoint.state_dict import (
        set_model_state_dict,
        set_optimizer_state_dict,
    )

    path = Path(path)
    if not _complete(path):
        raise FileNotFoundError(f"{path} is not a complete checkpoint (needs {STATE_FILE} and {MODEL_DIR}/)")
    state = read_state(path / STATE_FILE)
    rank = torch.distributed.get_rank() if D.is_initialized() else 0
    distributed = D.is_initialized()
    full = _master_weights(path) if rank == 0 else {}
    set_model_state_dict(model, full, options=_options(
        full_state_dict=True, broadcast_from_rank0=distributed, strict=False))
    optim = state["optimizer"] if rank == 0 or not distributed else {}
    set_optimizer_state_dict(model, optimizer, optim, options=_options(
        full_state_dict=True, broadcast_from_rank0=distributed, strict=False))
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    rngs = state.get("rng") or []
    if rngs:
        set_rng_state(rngs[min(rank, len(rngs) - 1)])
    return {"step": int(state["step"]), "extra": state.get("extra") or {}}


def _master_weights(path: Path) -> dict:
    """The checkpoint's fp32 weights: the master copy when ``model/`` was saved in a lower
    precision, else ``model/`` itself."""
    if (path / MASTER_FILE).exists():
        from safetensors.torch import load_file

        return load_file(str(path / MASTER_FILE))
    from thinkvl.runtime.precision import load_for_training

    return load_for_training(path / MODEL_DIR).state_dict()


def read_state(file: Path) -> dict:
    """The trainer state, loaded with ``weights_only=True`` (never unpickles code)."""
    import pickle

    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else type(exc).__name__
        raise UnsafeCheckpoint(
            f"{file}: refused to load: it holds Python objects other than tensors and plain "
            f"containers, and loading them could run code ({reason}). thinkvl never writes such "
            "files; only resume from checkpoints you wrote yourself, and if this one is yours "
            f"(an older thinkvl, format 1), re-create it by training again from its model/ folder"
        ) from None
    if not isinstance(state, dict) or state.get("version") != FORMAT_VERSION:
        found = state.get("version") if isinstance(state, dict) else type(state).__name__
        raise UnsafeCheckpoint(f"{file}: trainer state format {found!r}, expected {FORMAT_VERSION}")
    return state


def has_final(run_dir: str | Path) -> bool:
    """Whether the run finished: ``final/`` is written last and atomically."""
    return (Path(run_dir) / "final" / "config.json").exists()


def export_final(run_dir: str | Path, model, processor, dtype: torch.dtype | None = None) -> Path:
    """Write the trained model as ``run_dir/final`` (a Hugging Face folder, in ``dtype``), atomically."""
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    run_dir = Path(run_dir)
    final = run_dir / "final"
    model_sd = get_model_state_dict(model, options=_options(full_state_dict=True, cpu_offload=True))
    if D.is_initialized() and torch.distributed.get_rank() != 0:
        D.barrier()
        return final
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        tmp = run_dir / f".tmp-final-{os.getpid()}"
        _clear_debris(run_dir, (".tmp-final-*", ".old-final-*"))  # left by a kill mid-export
        _save_hf(model, processor, model_sd, tmp, dtype)
        _fsync_tree(tmp)
        if final.exists():
            old = run_dir / f".old-final-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
        _fsync_dir(run_dir)
    finally:
        D.barrier()
    return final
