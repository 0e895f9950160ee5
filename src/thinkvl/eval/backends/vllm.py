"""vLLM backend: the model in an in-process ``vllm.LLM`` (CUDA, or vLLM's CPU build).

Prompts are encoded exactly as the HF backend encodes them (same capped processor, same
``/nothink`` handling) and reach vLLM as token ids with their images and frames
(``model.vllm_decode``); force-answering continues from token ids in one batched call. So, with
greedy decoding, predictions are the HF backend's token for token (tested on the synthetic
benchmark), and vision caps hold here as in every backend (``caps.cap_media``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from thinkvl.eval.backends import Output, Request
from thinkvl.eval.config import GenerationSettings, VisionSettings, VLLMSettings


class VLLMBackend:
    name = "vllm"

    def __init__(self, path: str | Path, vision: VisionSettings | None = None,
                 settings: VLLMSettings | None = None, model_id: str | None = None,
                 seed: int = 0, llm=None) -> None:
        """``llm``: an engine already started on ``path`` (tests share one)."""
        from thinkvl.eval.backends.caps import cap_processor, vision_pixels
        from thinkvl.model.factory import load_processor
        from thinkvl.model.vllm_decode import VLLMDecoder
        from thinkvl.model.vllm_engine import EngineSettings, start_engine

        self.path = str(path)
        self.vision = vision or VisionSettings()
        self.settings = s = settings or VLLMSettings()
        self.processor = cap_processor(load_processor(path), self.vision)
        self.pixels = vision_pixels(self.processor, self.vision)
        self.owns_engine = llm is None
        if llm is None:
            llm = start_engine(path, EngineSettings(
                dtype=s.dtype, max_model_len=s.max_model_len, gpu_memory_utilization=s.gpu_memory_utilization,
                cpu_kv_cache_gib=s.cpu_kv_cache_gib, tensor_parallel_size=s.tensor_parallel_size,
                limit_images=s.limit_images, limit_videos=s.limit_videos, seed=seed))
        self.llm = llm
        self.decoder = VLLMDecoder(llm, path, self.processor)
        self.family = self.decoder.adapter  # the runner applies the family's direct mode
        self.batch_size = 256
        self._model_id = model_id

    def model_fingerprint(self) -> str:
        return self._model_id or f"vllm:{Path(self.path).resolve()}"

    def info(self) -> dict[str, Any]:
        import vllm

        return {"backend": "vllm", "decoder": f"vllm {vllm.__version__}", "model": self.path,
                **self.pixels}

    def generate(self, requests: list[Request], gen: GenerationSettings, mode: str) -> list[Output]:
        from thinkvl.eval.backends.caps import cap_media

        media = [cap_media(r.media, self.processor, self.vision) for r in requests]
        # the runner already put the mode into the prompt (/nothink or the model's own direct prompt)
        groups = self.decoder.generate([r.prompt for r in requests], 1, gen, media=media,
                                       seed=None if gen.greedy else gen.seed,
                                       template_kwargs=[r.template_kwargs for r in requests])
        return [Output(text=c.text, forced=c.forced, truncated=c.truncated, tokens=len(c.token_ids))
                for (c,) in groups]

    def close(self) -> None:
        if self.owns_engine:
            from thinkvl.model.vllm_engine import close_engine

            close_engine(self.llm)
        self.llm = None
