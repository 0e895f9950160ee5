"""Rollout engines behind one interface: thinkvl's HF decoding loop and vLLM (CUDA, or its CPU build)."""

from __future__ import annotations

from typing import Protocol

from thinkvl.model.generate import Completion
from thinkvl.model.settings import GenerationSettings
from thinkvl.rl.data import Prompt


class RolloutEngine(Protocol):
    """Generates ``n`` completions per prompt and receives the actor's weights after updates."""

    def rollout(self, prompts: list[Prompt], n: int) -> list[list[Completion]]: ...

    def sync(self, actor_model) -> None: ...


def make_engine(kind: str, model, processor, settings: GenerationSettings, model_path: str | None = None,
                batch_size: int = 128, distributed: bool = False, **kwargs) -> RolloutEngine:
    if kind == "hf":
        from thinkvl.rl.rollout.hf import HFRollout

        return HFRollout(model, processor, settings, batch_size=batch_size, separate_copy=distributed)
    if kind == "vllm":
        from thinkvl.rl.rollout.vllm import VLLMRollout, engine_settings

        return VLLMRollout(model_path, processor, settings, engine=engine_settings(**kwargs),
                           distributed=distributed)
    raise ValueError(f"unknown rollout engine {kind!r}; expected 'hf' or 'vllm'")
