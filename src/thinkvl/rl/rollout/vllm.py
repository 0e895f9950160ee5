"""vLLM rollouts, colocated and in-process, behind the same interface as the HF engine.

Decoding (the trainer's token ids in, force-answering from ids, placeholders never sampled,
sampled log-probs out) is ``model.vllm_decode``; this module owns the engine's life around the
trainer's updates:

* **weights after every update**: ``sync`` reloads the actor's full state dict through the
  engine's supported reload path and resets its prefix and encoder caches
  (``model.vllm_engine.reload_weights``); under FSDP every rank gathers the full state dict
  for its own engine (``distributed_executor_backend="external_launcher"``);
* **log-probs the actor can compare**: at temperature 1 the engine reports raw log-probs
  (what the actor recomputes); at other temperatures the processed ones (after temperature,
  and after the bad words: a small difference the mismatch metric shows);
* **sleep mode (CUDA)**: after generating, the engine sleeps (KV cache dropped, weights
  offloaded) so the update has the GPU; ``sync`` wakes the weights, reloads, then the KV cache.
  vLLM's CPU build has no sleep mode: there the calls are skipped.

Untested here (no GPU): sleep mode, the external launcher under torchrun.
"""

from __future__ import annotations

from dataclasses import replace

from thinkvl.model.generate import Completion
from thinkvl.model.settings import GenerationSettings
from thinkvl.model.vllm_decode import VLLMDecoder
from thinkvl.model.vllm_engine import EngineSettings, close_engine, on_cpu, reload_weights, start_engine
from thinkvl.rl.data import Prompt


def engine_settings(rollout=None, seed: int = 0, **_) -> EngineSettings:
    """Engine settings from an ``RLConfig.rollout`` section (defaults without one)."""
    if rollout is None:
        return EngineSettings(seed=seed)
    return EngineSettings(dtype=rollout.dtype, max_model_len=rollout.max_model_len,
                          gpu_memory_utilization=rollout.gpu_memory_utilization,
                          cpu_kv_cache_gib=rollout.cpu_kv_cache_gib, sleep_mode=rollout.sleep_mode,
                          seed=seed)


class VLLMRollout:
    def __init__(self, model_path: str, processor, settings: GenerationSettings, engine: EngineSettings | None = None,
                 distributed: bool = False, llm=None):
        """``settings``: how to decode; ``engine``: how to run vLLM; ``llm``: an engine already
        started on ``model_path`` (tests share one)."""
        self.settings = settings
        self.engine = engine or EngineSettings()
        if llm is None:
            raw = settings.greedy or settings.temperature == 1.0
            self.engine = replace(self.engine, logprobs_mode="raw_logprobs" if raw else "processed_logprobs")
            llm = start_engine(model_path, self.engine, distributed=distributed)
        self.llm = llm
        self.decoder = VLLMDecoder(llm, model_path, processor)
        self.cpu = on_cpu()
        self.sleeping = False

    def rollout(self, prompts: list[Prompt], n: int) -> list[list[Completion]]:
        self._wake()
        try:
            return self.decoder.generate([p.messages for p in prompts], n, self.settings,
                                         base_dirs=[p.base_dir for p in prompts])
        finally:
            self._sleep()

    def score(self, prompts: list[Prompt], completions: list[list[int]]) -> list[list[float]]:
        """vLLM's raw log-prob of each token of a given completion of each prompt."""
        self._wake()
        return self.decoder.score([p.messages for p in prompts], completions,
                                  base_dirs=[p.base_dir for p in prompts])

    def sync(self, actor_model) -> None:
        """The actor's weights into the engine (call after every optimizer update)."""
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        state = get_model_state_dict(actor_model, options=StateDictOptions(full_state_dict=True))
        if self.sleeping:  # pragma: no cover - CUDA sleep mode
            self.llm.wake_up(tags=["weights"])
        reload_weights(self.llm, state.items(), expected=len(state))
        if self.sleeping:  # pragma: no cover - CUDA sleep mode
            self.llm.wake_up(tags=["kv_cache"])
            self.sleeping = False

    def _sleep(self) -> None:
        if self.engine.sleep_mode and not self.cpu:  # pragma: no cover - CUDA sleep mode
            self.llm.sleep(level=1)
            self.sleeping = True

    def _wake(self) -> None:
        if self.sleeping:  # pragma: no cover - CUDA sleep mode
            self.llm.wake_up()
            self.sleeping = False

    def close(self) -> None:
        close_engine(self.llm)
