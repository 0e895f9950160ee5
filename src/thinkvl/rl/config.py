"""The RL recipe as data. Defaults are the GLM-4.1V-Thinking report's choices where it gives
them (GRPO, no KL, no entropy bonus, clip-higher, top-p 1.0, per-sample normalisation, RLCS
with EMA expansion); sizes are laptop-scale — ``configs/glm41v_9b_rl.yaml`` holds cluster ones."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from thinkvl.config import Section
from thinkvl.rl.curriculum import DEFAULT_TIER_WEIGHTS
from thinkvl.runtime.optim import RL_DEFAULTS, OptimConfig, with_stage_defaults


class DataConfig(Section):
    train: str = Field(..., description="RL records (JSONL/Parquet): id, domain, prompt, answer")
    eval: str | None = Field(None, description="held-out records for accuracy before/after and every eval_every")
    eval_limit: int | None = Field(None, ge=1, description="evaluate on the first N held-out records of each domain")
    skip_invalid: bool = False
    media_roots: list[str] = Field(
        default_factory=list, description="folders media may live in besides the data file's own")


class RolloutConfig(Section):
    engine: Literal["hf", "vllm"] = "hf"
    group_size: int = Field(8, ge=2, description="rollouts per prompt (GRPO group)")
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1.0)
    top_k: int = Field(0, ge=0, description="0: sample from the whole distribution (the report's choice)")
    think_budget: int = Field(48, ge=1, description="new tokens before the answer is forced")
    answer_budget: int = Field(24, ge=0, description="new tokens allowed after forcing </think><answer>")
    batch_size: int = Field(128, ge=1, description="sequences per generate call")
    gpu_memory_utilization: float = Field(0.5, gt=0, le=1.0, description="vLLM only")


class AlgoConfig(Section):
    steps: int = Field(20, ge=0)
    prompts_per_step: int = Field(16, ge=1, description="groups trained on per step (after filtering)")
    advantage: str = "grpo"
    loss: str = Field("clipped", description="policy loss by name (rl/loss.py's registry): clipped = "
                                             "PPO clipping with clip-higher")
    clip_low: float = Field(0.2, ge=0)
    clip_high: float = Field(0.28, ge=0)
    normalization: Literal["sample", "token"] = "sample"
    kl_coef: float = Field(0.0, ge=0, description="off by default: the report found KL limits gains")
    entropy_coef: float = Field(0.0, ge=0, description="off by default, as in the report")
    mini_batches: int = Field(
        1, ge=1, description="optimizer steps per pass over a rollout batch: its kept samples split "
                             "into this many mini-batches (whole groups where possible), each "
                             "normalised by its own counts; old log-probs come from the policy that "
                             "sampled, so from the second step on the ratio moves and clipping acts")
    updates_per_batch: int = Field(
        1, ge=1, description="passes over the rollout batch (PPO epochs); optimizer steps per RL "
                             "step = updates_per_batch × mini_batches")
    micro_batch: int = Field(32, ge=1, description="sequences per forward/backward")
    preflight_max_format_errors: float = Field(
        0.5, ge=0, le=1, description="stop before the first update when more of the first step's "
                                     "rollouts than this are malformed (1.0: no check)")


class CurriculumConfig(Section):
    enabled: bool = True
    pass_ema: float = Field(0.5, ge=0, lt=1)
    tier_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_TIER_WEIGHTS))
    domain_mix: dict[str, float] = Field(default_factory=dict)


class DynamicConfig(Section):
    enabled: bool = True
    ema_decay: float = Field(0.8, ge=0, lt=1)
    max_expansion: float = Field(4.0, ge=1)
    initial_expansion: float | None = Field(
        None, ge=1, description="the first step's oversampling factor, then the prior the observed "
                                "factors are averaged into; unset: the first step draws no extra "
                                "prompts and its observed factor seeds the EMA")


class RunConfig(Section):
    out: str = "runs/rl"
    seed: int = 0
    save_every: int = Field(10, ge=0, description="0: only the final checkpoint")
    keep_last: int = Field(2, ge=1)
    eval_every: int = Field(0, ge=0, description="0: evaluate before and after only")
    eval_samples: int = Field(
        0, ge=0, description="held-out evals also average this many samples per record at the "
                             "rollout temperature (RL's own objective); 0: greedy only")
    save_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="dtype of checkpoints' model/ and final/ (auto: the start model's); "
                            "training itself always keeps fp32 master weights")
    sinks: list[str] = Field(default_factory=lambda: ["jsonl", "tensorboard"])
    save_rollouts: bool = True
    progress: bool = True


class RLConfig(Section):
    model: str = Field(..., description="policy to start from: an SFT checkpoint folder")
    data: DataConfig
    rl: AlgoConfig = AlgoConfig()
    rollout: RolloutConfig = RolloutConfig()
    optim: OptimConfig = Field(default_factory=lambda: OptimConfig(**RL_DEFAULTS),
                               description="as in SFT; RL's defaults: constant lr, no weight decay")
    curriculum: CurriculumConfig = CurriculumConfig()
    dynamic: DynamicConfig = DynamicConfig()
    rewards: str | None = Field(None, description="reward-system YAML; default configuration when unset")
    run: RunConfig = RunConfig()

    _rl_optim_defaults = field_validator("optim", mode="before")(with_stage_defaults(RL_DEFAULTS))
