"""Hugging Face backend: local batched generation through ``thinkvl.model.generate``.

It takes an already-loaded model (RL evaluates in-process without reloading) or a folder, and
caps vision inputs on a private copy of the processor, so a caller's processor is never changed.
The model's family adapter (``family``) tells the runner its direct-answer convention and caps
vision in the family's own units.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from thinkvl.eval.backends import Output, Request
from thinkvl.eval.backends.caps import cap_processor, vision_pixels
from thinkvl.eval.config import GenerationSettings, VisionSettings


def weights_digest(model: torch.nn.Module, per_tensor: int = 4096) -> str:
    """A cheap fingerprint of the weights: shapes plus an evenly strided sample of each tensor,
    so a model updated in-process (RL) gets new predictions, without hashing billions of values."""
    h = hashlib.sha1(type(model).__name__.encode())
    config = getattr(model, "config", None)
    if config is not None:
        h.update(json.dumps(config.to_dict(), sort_keys=True, default=str).encode())
    with torch.no_grad():
        for name, p in model.state_dict().items():
            flat = p.detach().reshape(-1)
            step = max(1, flat.numel() // per_tensor)
            sample = flat[::step][:per_tensor].to("cpu", torch.float32)
            h.update(name.encode())
            h.update(repr(tuple(p.shape)).encode())
            h.update(sample.numpy().tobytes())
    return h.hexdigest()


class HFBackend:
    """Batched local generation; ``batch_size`` prompts per forward pass."""

    name = "hf"

    def __init__(self, model, processor, vision: VisionSettings | None = None,
                 batch_size: int = 16, model_id: str | None = None) -> None:
        from thinkvl.model.families import adapter_for

        self.model = model
        self.vision = vision or VisionSettings()
        self.processor = cap_processor(processor, self.vision, model)
        self.family = adapter_for(model, self.processor)
        self.batch_size = batch_size
        self._model_id = model_id
        self._digest: str | None = None

    @classmethod
    def from_path(cls, path: str | Path, vision: VisionSettings | None = None,
                  batch_size: int = 16, dtype: str | None = None,
                  device: str | None = None) -> "HFBackend":
        from thinkvl.model.factory import load_model, load_processor

        model = load_model(path, dtype=dtype, device=device)
        return cls(model, load_processor(path), vision, batch_size)

    def model_fingerprint(self) -> str:
        if self._model_id is not None:
            return self._model_id
        if self._digest is None:
            self._digest = "hf:" + weights_digest(self.model)
        return self._digest

    def info(self) -> dict[str, Any]:
        import transformers

        return {"backend": "hf", "decoder": f"transformers {transformers.__version__}",
                "torch": torch.__version__,
                "model": str(getattr(self.model, "name_or_path", "") or type(self.model).__name__),
                "batch_size": self.batch_size, **vision_pixels(self.processor, self.vision)}

    def generate(self, requests: list[Request], gen: GenerationSettings, mode: str) -> list[Output]:
        from thinkvl.eval.backends.caps import cap_media
        from thinkvl.model.generate import generate

        was_training = self.model.training
        self.model.eval()
        device = next(self.model.parameters()).device
        gpus = [device.index or 0] if device.type == "cuda" else []
        try:
            # Seeded sampling without disturbing the caller's random state (RL evaluates
            # in-process between training steps).
            with torch.random.fork_rng(devices=gpus):
                torch.manual_seed(gen.seed)
                media = [cap_media(r.media, self.processor, self.vision) for r in requests]
                done = generate(self.model, self.family, [r.prompt for r in requests],
                                gen, media=media,  # the runner put the mode into the prompt
                                batch_size=self.batch_size, template_kwargs=[r.template_kwargs for r in requests],
                                wheres=[r.where for r in requests])
        finally:
            self.model.train(was_training)
        return [Output(text=c.text, forced=c.forced, truncated=c.truncated, tokens=len(c.token_ids))
                for c in done]

    def close(self) -> None:
        pass
