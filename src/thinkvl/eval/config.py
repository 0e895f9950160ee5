"""Evaluation settings as data: one pydantic model, loaded from ``configs/eval.yaml`` + overrides.

Everything that changes a prediction (decoding, vision caps, frames) lives in ``generation`` and
``vision`` and is part of every prediction's fingerprint; scoring and judge settings are not,
so changing them re-scores stored predictions without regenerating them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from thinkvl.config import Section, load_config
from thinkvl.data.media import IMAGE_TOKEN_CAP, VIDEO_TOKEN_CAP
from thinkvl.model.settings import GenerationSettings  # noqa: F401 - eval's `generation` section

Mode = Literal["think", "direct"]
MODES: tuple[str, ...] = ("think", "direct")


class VisionSettings(Section):
    """Vision budgets: 6,144 tokens per image and 48,000 per video (as max pixels), 2 fps."""

    image_token_cap: int = Field(IMAGE_TOKEN_CAP, ge=1)
    video_token_cap: int = Field(VIDEO_TOKEN_CAP, ge=1)
    video_fps: float = Field(2.0, gt=0)
    max_frames: int | None = Field(None, ge=2)  # long videos are sampled uniformly to this many


class HFSettings(Section):
    batch_size: int = Field(16, ge=1)
    dtype: str | None = None  # "auto" by default (the checkpoint's dtype)
    device: str | None = None


class OpenAISettings(Section):
    """Any OpenAI-compatible chat endpoint. The key is read from ``api_key_env``, never stored."""

    base_url: str | None = None  # taken from --model when it is a URL
    model: str | None = None  # served model name; None asks the server (/v1/models)
    api_key_env: str | None = "OPENAI_API_KEY"
    concurrency: int = Field(8, ge=1)
    max_retries: int = Field(3, ge=0)
    backoff_s: float = Field(1.0, ge=0)
    timeout_s: float = Field(600.0, gt=0)
    # vLLM/SGLang extensions: keep special tokens (the protocol markers) and continue a partial
    # assistant message for force-answering. Turn off for APIs that reject unknown fields.
    server_extensions: bool = True
    video_frame_format: Literal["PNG", "JPEG"] = "PNG"
    # vLLM extension (with server_extensions): tokens the server must never sample. None: the
    # GLM-4.1V vision placeholders (a sampled placeholder means nothing and breaks the prompt).
    bad_words: list[str] | None = None


class VLLMSettings(Section):
    tensor_parallel_size: int = Field(1, ge=1)
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    max_model_len: int | None = None
    # "checkpoint": the model folder's dtype (vLLM's own "auto" runs float32 as bfloat16)
    dtype: str = "checkpoint"
    cpu_kv_cache_gib: float = Field(0.5, gt=0)  # vLLM's CPU build only
    limit_images: int = Field(8, ge=0)
    limit_videos: int = Field(1, ge=0)


class BackendSettings(Section):
    name: Literal["hf", "vllm", "openai"] = "hf"
    hf: HFSettings = Field(default_factory=HFSettings)
    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    vllm: VLLMSettings = Field(default_factory=VLLMSettings)


class ScoringSettings(Section):
    """How predictions become scores; none of this invalidates stored predictions."""

    anls_threshold: float = Field(0.5, ge=0, le=1)  # ANLS: similarity below this counts 0
    llm_parser: bool = True  # ask the judge to extract an answer when box and rules both fail
    rewards_config: str | None = None  # a reward YAML (thinkvl.rewards.config) to score with
    judge: dict[str, Any] = Field(default_factory=dict)  # overrides of the reward judge section


class DirectSettings(Section):
    """How direct mode asks for an answer without thinking. ``nothink`` appends ``/nothink``
    (hybrid models such as GLM-4.1V); a model without a hybrid mode gets ``instruction``
    appended instead — its own direct-answer prompt, not a literal ``/nothink`` it would read
    as text. The prompt is part of each prediction's key."""

    style: Literal["nothink", "instruction"] = "nothink"
    instruction: str = "Answer directly with the final answer only, without explaining."


class EvalConfig(Section):
    benches: list[str] = Field(default_factory=list)  # NAME, NAME:PATH or a records file
    data_root: str | None = None  # where registry names without a path are looked up
    # The report's protocol: every benchmark in think and in direct mode.
    modes: list[Mode] = Field(default_factory=lambda: ["think", "direct"])
    direct: DirectSettings = Field(default_factory=DirectSettings)
    out: str = "runs/eval"
    limit: int | None = Field(None, ge=1)  # first N items of each benchmark (smoke runs)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    vision: VisionSettings = Field(default_factory=VisionSettings)
    backend: BackendSettings = Field(default_factory=BackendSettings)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)


def load_eval_config(path: str | None = None, overrides: list[str] | None = None) -> EvalConfig:
    """The defaults or a YAML recipe, with ``key=value`` overrides (``generation.top_p=0.9``)."""
    return load_config(EvalConfig, path, overrides)
