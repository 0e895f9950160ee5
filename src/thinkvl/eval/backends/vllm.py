"""vLLM backend (GPU): a thin adapter over ``vllm.LLM.chat`` behind the common interface.

It sends the same OpenAI-style messages as the server backend (images as PNG data URIs,
videos as frame lists) and force-answers with ``continue_final_message``, so its predictions
are comparable with the HF and server backends. vLLM is imported only when this runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from thinkvl.eval.backends import Output, Request, needs_answer, to_openai_messages
from thinkvl.eval.config import GenerationSettings, VisionSettings, VLLMSettings


class VLLMBackend:
    name = "vllm"

    def __init__(self, path: str | Path, vision: VisionSettings | None = None,
                 settings: VLLMSettings | None = None, model_id: str | None = None,
                 seed: int = 0) -> None:
        try:
            from vllm import LLM
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise RuntimeError("the vllm backend needs `pip install vllm` on a CUDA machine; "
                               "use --backend hf or --backend openai otherwise") from exc
        from thinkvl.eval.backends.hf import vision_pixels
        from thinkvl.model.factory import load_processor

        self.path = str(path)
        self.vision = vision or VisionSettings()
        self.settings = settings or VLLMSettings()
        processor = load_processor(path)
        self.pixels = vision_pixels(processor, self.vision)
        mm_kwargs: dict[str, Any] = {}
        size = dict(getattr(getattr(processor, "image_processor", None), "size", None) or {})
        if self.pixels["image_max_pixels"] and "longest_edge" in size:
            mm_kwargs["size"] = {**size, "longest_edge": self.pixels["image_max_pixels"]}
        self.llm = LLM(model=self.path, tensor_parallel_size=self.settings.tensor_parallel_size,
                       gpu_memory_utilization=self.settings.gpu_memory_utilization,
                       max_model_len=self.settings.max_model_len, dtype=self.settings.dtype,
                       limit_mm_per_prompt={"image": self.settings.limit_images,
                                            "video": self.settings.limit_videos},
                       mm_processor_kwargs=mm_kwargs or None, seed=seed)
        self.batch_size = 256
        self._model_id = model_id

    def model_fingerprint(self) -> str:
        return self._model_id or f"vllm:{Path(self.path).resolve()}"

    def info(self) -> dict[str, Any]:
        import vllm

        return {"backend": "vllm", "decoder": f"vllm {vllm.__version__}", "model": self.path,
                **self.pixels}

    def _params(self, max_tokens: int, gen: GenerationSettings):
        from vllm import SamplingParams

        return SamplingParams(temperature=gen.temperature, top_p=gen.top_p, max_tokens=max_tokens,
                              seed=gen.seed, skip_special_tokens=False)

    def generate(self, requests: list[Request], gen: GenerationSettings, mode: str) -> list[Output]:
        messages = [to_openai_messages(r) for r in requests]
        first = self.llm.chat(messages, self._params(gen.max_new_tokens, gen), use_tqdm=False)
        outs: list[Output] = []
        pending: list[int] = []
        for i, res in enumerate(first):
            o = res.outputs[0]
            if o.finish_reason != "length":
                outs.append(Output(text=o.text, tokens=len(o.token_ids)))
                continue
            text, forced = needs_answer(o.text, False)
            outs.append(Output(text=text, forced=forced, truncated=True, tokens=len(o.token_ids)))
            pending.append(i)
        if pending and gen.answer_budget > 0:
            cont = [messages[i] + [{"role": "assistant", "content": outs[i].text}] for i in pending]
            second = self.llm.chat(cont, self._params(gen.answer_budget, gen), use_tqdm=False,
                                   add_generation_prompt=False, continue_final_message=True)
            for i, res in zip(pending, second):
                o = res.outputs[0]
                outs[i].text += o.text
                outs[i].truncated = o.finish_reason == "length"
                outs[i].tokens = (outs[i].tokens or 0) + len(o.token_ids)
        return outs

    def close(self) -> None:
        del self.llm
