"""Starting vLLM in-process, one way for rollouts, evaluation and tests; weight reloads.

Why in-process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``): a colocated rollout engine receives the
actor's weights after every update as tensors, not through a file or a socket; with the
engine core in the same process, ``LLM.collective_rpc`` hands the worker the tensors
themselves. The same code runs on vLLM's CPU build (tests) and on CUDA.

Weight sync uses the reload path the installed vLLM supports, ``Worker.reload_weights``
(``collective_rpc("reload_weights", weights_iterator=…, is_checkpoint_format=True)``): it
restores the layers' checkpoint layout before loading and re-applies the kernel repacking
afterwards, which a plain ``model.load_weights`` does not (on the CPU backend that fails with
"Attempted to load weight … into parameter (torch.Size([0]))"). The prefix and encoder caches
are reset afterwards, or prompts and images seen before the update would be continued from
stale keys/values and vision embeddings.

CPU-only differences are handled here: the KV cache gets an explicit size (the CPU backend
otherwise reserves a fraction of the machine's memory and refuses to start when that much is
not free), CUDA graphs do not exist (eager), sleep mode is CUDA-only.
"""

from __future__ import annotations

import gc
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class EngineSettings:
    """How to start an engine; ``dtype="checkpoint"`` keeps the model folder's dtype (vLLM's
    own "auto" would run a float32 checkpoint in bfloat16, unlike the trainer)."""

    dtype: str = "checkpoint"
    max_model_len: int | None = 8192
    gpu_memory_utilization: float = 0.5  # CUDA: share of GPU memory for weights + KV cache
    cpu_kv_cache_gib: float = 0.25  # CPU build: KV cache size
    tensor_parallel_size: int = 1
    sleep_mode: bool = False  # CUDA only: free the engine's memory between rollouts
    limit_images: int = 8
    limit_videos: int = 1
    logprobs_mode: str = "raw_logprobs"
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # more vllm.LLM keyword arguments


def import_vllm():
    """vLLM, or an error saying how to get it."""
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"  # in-process engine core (see module notes)
    try:
        import vllm
    except ImportError as exc:
        raise RuntimeError(
            "vLLM is not installed: `pip install \"thinkvl[vllm]\"` on a CUDA machine, or `make install` "
            "(vLLM's CPU build); otherwise use the hf engine/backend") from exc
    return vllm


def on_cpu() -> bool:
    """True when vLLM runs on its CPU backend (no sleep mode, no CUDA graphs)."""
    import_vllm()
    from vllm.platforms import current_platform

    return current_platform.is_cpu()


def checkpoint_dtype(path: str | Path) -> str:
    """The dtype a model folder was saved in (``config.json``), for vLLM's ``dtype``."""
    config = json.loads((Path(path) / "config.json").read_text())
    dtype = config.get("dtype") or config.get("torch_dtype")
    if dtype is None:
        text = config.get("text_config") or {}
        dtype = text.get("dtype") or text.get("torch_dtype")
    return str(dtype or "auto").removeprefix("torch.")


def engine_kwargs(path: str | Path, settings: EngineSettings, cpu: bool,
                  distributed: bool = False) -> dict[str, Any]:
    """``vllm.LLM`` keyword arguments for ``settings`` on this platform."""
    dtype = checkpoint_dtype(path) if settings.dtype == "checkpoint" else settings.dtype
    kwargs: dict[str, Any] = dict(
        model=str(path), dtype=dtype, seed=settings.seed, max_model_len=settings.max_model_len,
        tensor_parallel_size=settings.tensor_parallel_size, enable_prefix_caching=True,
        limit_mm_per_prompt={"image": settings.limit_images, "video": settings.limit_videos},
        logprobs_mode=settings.logprobs_mode,
    )
    if cpu:
        kwargs.update(enforce_eager=True, kv_cache_memory_bytes=int(settings.cpu_kv_cache_gib * (1 << 30)))
    else:  # pragma: no cover - CUDA machines only
        kwargs.update(gpu_memory_utilization=settings.gpu_memory_utilization,
                      enable_sleep_mode=settings.sleep_mode)
        if distributed:  # one engine per torchrun rank, inside the trainer's process group
            kwargs["distributed_executor_backend"] = "external_launcher"
    kwargs.update(settings.extra)
    return kwargs


def start_engine(path: str | Path, settings: EngineSettings = EngineSettings(), distributed: bool = False):
    """A ``vllm.LLM`` on ``path``, in this process."""
    if not (Path(path) / "config.json").exists():
        raise FileNotFoundError(f"{path} is not a model folder (no config.json); vLLM loads a saved "
                                "Hugging Face folder (e.g. `thinkvl model init --out DIR`)")
    vllm = import_vllm()
    import torch

    cpu, threads, set_threads = on_cpu(), torch.get_num_threads(), torch.set_num_threads
    llm = vllm.LLM(**engine_kwargs(path, settings, cpu, distributed))
    if cpu:  # the CPU worker replaces torch.set_num_threads process-wide and drops to 1 thread;
        torch.set_num_threads = set_threads  # the trainer in this process keeps its own setting
        torch.set_num_threads(threads)
    return llm


class _Counted:
    """An iterator over (name, tensor) that counts what the engine consumed."""

    def __init__(self, items):
        self.items, self.count = iter(items), 0

    def __iter__(self):
        return self

    def __next__(self):
        item = next(self.items)
        self.count += 1
        return item


def reload_weights(llm, named_tensors, expected: int | None = None) -> int:
    """Load ``(name, tensor)`` pairs (Hugging Face checkpoint names) into the engine's model in
    place, then reset its prefix cache. Returns how many tensors were loaded; raises when the
    engine stopped before taking all ``expected`` of them."""
    weights = _Counted((name, tensor.detach()) for name, tensor in named_tensors)
    llm.collective_rpc("reload_weights", kwargs={"weights_iterator": weights, "is_checkpoint_format": True})
    if expected is not None and weights.count != expected:
        raise RuntimeError(f"vLLM took {weights.count} of {expected} weight tensors in reload_weights; "
                           "the engine's model does not match the actor's")
    reset_caches(llm)
    return weights.count


def reset_caches(llm) -> None:
    """Forget keys/values and vision-encoder outputs computed with the old weights. The worker's
    reload drops its encoder outputs but not the scheduler's record of them (the next image
    request then fails with "Encoder cache miss"), so both are reset through the engine."""
    llm.reset_prefix_cache()
    reset_encoder = getattr(llm.llm_engine, "reset_encoder_cache", None)
    if reset_encoder is not None:
        reset_encoder()


def close_engine(llm) -> None:
    """Let go of an in-process engine and free its memory, leaving vLLM's process-wide state
    alone. vLLM's own teardown (``EngineCore.shutdown``, also run by a finalizer when the engine
    is garbage-collected) destroys the process's parallel groups, after which every other
    engine in this process (a rollout engine beside an evaluation one, a test session's shared
    engine) fails with "pipeline model parallel group is not initialized"; so the finalizer is
    detached and only the memory released (vLLM freezes its start-up objects out of the GC)."""
    client = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
    finalizer = getattr(client, "_finalizer", None)
    if finalizer is not None:
        finalizer.detach()
    del llm, client
    gc.unfreeze()
    gc.collect()
