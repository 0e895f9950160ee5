"""The pre-training and SFT recipes as data (YAML + dotted overrides, validated here).

Both stages share one shape: a model folder, record files, a packing length, an optimizer and a
step budget. Batches are measured in packed rows (``seq_len`` tokens each), so a step's token
count is fixed and independent of how many processes run it.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from thinkvl.config import Section
from thinkvl.data.media import IMAGE_TOKEN_CAP, MIN_FRAME_PAIR_TOKENS, VIDEO_FPS, VIDEO_TOKEN_CAP
from thinkvl.runtime.optim import OptimConfig


class ModelConfig(Section):
    path: str = Field(..., description="Hugging Face model folder to start from")
    init_if_missing: str | None = Field(
        None, description="build a fresh tiny model at `path` if it is not a model yet: a GLM-4.1V preset "
                          "(tiny|small) or a family name (qwen2_5_vl, gemma3, …)")
    init_seed: int = 0
    attn_implementation: str | None = Field(
        None, description="e.g. flash_attention_2 on GPU (packed rows then use varlen kernels)")
    gradient_checkpointing: bool = False


class DataConfig(Section):
    train: str | list[str] = Field(..., description="record files, folders or globs (JSONL/Parquet)")
    seq_len: int = Field(8192, ge=16, description="packed row length in tokens")
    shuffle: bool = True
    buffer_size: int = Field(10_000, ge=1, description="records shuffled together (stream window)")
    pack_buffer_rows: float = Field(
        2.0, gt=0, description="tokens kept waiting for best-fit packing, in rows of seq_len")
    shards: int | None = Field(
        None, ge=1, description="data shards (default: the world size); fixing it keeps the data "
                                "order identical for any number of processes")
    skip_invalid: bool = Field(False, description="skip and count records that fail validation")
    media_roots: list[str] = Field(
        default_factory=list, description="folders media may live in besides each data file's "
        "own (paths are resolved with symlinks followed; anything outside is a bad record)")
    skip_bad_media: bool = Field(
        False, description="skip and count samples with corrupt/over-budget media or longer than seq_len")
    prefetch: bool = Field(
        True, description="encode the next step's rows on a background thread while this step trains")
    max_image_tokens: int = Field(IMAGE_TOKEN_CAP, ge=1)
    max_video_tokens: int = Field(VIDEO_TOKEN_CAP, ge=1)
    video_fps: float = Field(VIDEO_FPS, gt=0)
    min_frame_pair_tokens: int = Field(
        MIN_FRAME_PAIR_TOKENS, ge=1, description="long videos drop frames rather than shrink below this")

    @model_validator(mode="after")
    def _budgets_fit(self) -> DataConfig:
        for name in ("max_image_tokens", "max_video_tokens"):
            if getattr(self, name) >= self.seq_len:
                raise ValueError(f"data.{name}={getattr(self, name)} does not fit data.seq_len="
                                 f"{self.seq_len}; lower it or raise seq_len")
        return self


class TrainConfig(Section):
    steps: int = Field(..., ge=1)
    packs_per_step: int = Field(..., ge=1, description="global rows per optimizer step")
    micro_batch_packs: int = Field(1, ge=1, description="rows per forward/backward")
    loss_normalization: Literal["token", "sample"] = Field(
        "token", description="token: mean over all loss tokens of the step; sample: token mean "
                             "within each sample, then mean over samples")


class RunConfig(Section):
    out: str = Field(..., description="run folder: checkpoints, metrics, final model")
    seed: int = 0
    save_every: int = Field(0, ge=0, description="checkpoint every N steps (0: only at the end)")
    keep_last: int = Field(2, ge=1)
    save_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="dtype of checkpoints' model/ and final/ (auto: the start model's); "
                            "training itself always keeps fp32 master weights")
    sinks: list[str] = Field(default_factory=lambda: ["jsonl", "tensorboard"])
    progress: bool = True


class SupervisedConfig(Section):
    """A supervised stage; ``STAGE`` decides how records become token labels."""

    STAGE: ClassVar[str] = "pretrain"
    model: ModelConfig
    data: DataConfig
    optim: OptimConfig = Field(default_factory=OptimConfig)
    train: TrainConfig
    run: RunConfig


class PretrainConfig(SupervisedConfig):
    """Pre-training records (caption, interleaved, OCR, grounding, video, text): loss on every
    text token, none on vision tokens."""

    STAGE: ClassVar[str] = "pretrain"


class SFTConfig(SupervisedConfig):
    """Chat records ending in an assistant turn: loss on the assistant's tokens only."""

    STAGE: ClassVar[str] = "sft"
