"""The RL recipe as data. Defaults are the GLM-4.1V-Thinking report's choices where it gives
them (GRPO, no KL, no entropy bonus, clip-higher, top-p 1.0, per-sample normalisation, RLCS
with EMA expansion); sizes are laptop-scale — ``configs/glm41v_9b_rl.yaml`` holds cluster ones."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from thinkvl.config import Section
from thinkvl.model.settings import GenerationSettings
from thinkvl.rl.curriculum import DEFAULT_TIER_WEIGHTS
from thinkvl.runtime.optim import RL_DEFAULTS, OptimConfig, with_stage_defaults


class DataConfig(Section):
    train: str = Field(..., description="RL records (JSONL/Parquet): id, domain, prompt, answer")
    eval: str | None = Field(None, description="held-out records for accuracy before/after and every eval_every")
    eval_limit: int | None = Field(None, ge=1, description="evaluate on the first N held-out records of each domain")
    skip_invalid: bool = False
    media_roots: list[str] = Field(
        default_factory=list, description="folders media may live in besides the data file's own")


class RolloutConfig(GenerationSettings):
    """Decoding (``model.settings.GenerationSettings``, with RL's defaults: sampled at temperature
    1, top-p 1, small laptop budgets) and the engine that runs it."""

    engine: Literal["hf", "vllm"] = "hf"
    group_size: int = Field(8, ge=2, description="rollouts per prompt (GRPO group)")
    temperature: float = Field(1.0, gt=0, description="rollouts are sampled (the report: 1.0)")
    think_budget: int = Field(48, ge=1, description="new tokens before </think><answer> is forced")
    answer_budget: int = Field(24, ge=0, description="new tokens allowed after the forced </think><answer>")
    batch_size: int = Field(128, ge=1, description="sequences per generate call")
    gpu_memory_utilization: float = Field(0.5, gt=0, le=1.0, description="vLLM only")
    dtype: str = Field("checkpoint", description="vLLM only: compute dtype; 'checkpoint' = the model "
                                                 "folder's (vLLM's own 'auto' runs float32 as bfloat16)")
    max_model_len: int = Field(8192, ge=64, description="vLLM only: prompt + completion tokens")
    sleep_mode: bool = Field(True, description="vLLM on CUDA only: free the engine's memory during updates")
    cpu_kv_cache_gib: float = Field(0.25, gt=0, description="vLLM's CPU build only: KV cache size")


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
    importance_correction: Literal["none", "tis"] = Field(
        "none", description="tis: weight each token's loss by min(π_old/π_sampler, importance_cap) "
                            "(truncated importance sampling; needs rollout.engine=vllm)")
    importance_cap: float = Field(2.0, ge=1.0, description="the cap of the TIS weight")
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

    @model_validator(mode="after")
    def _sampler_logprobs(self):
        if self.rl.importance_correction != "none" and self.rollout.engine != "vllm":
            raise ValueError("rl.importance_correction needs the sampler's log-probs, which only "
                             "rollout.engine=vllm reports; set rollout.engine=vllm or "
                             "rl.importance_correction=none")
        r = self.rollout
        if r.engine == "vllm" and r.max_model_len <= r.think_budget + r.answer_budget + 8:
            raise ValueError(f"rollout.max_model_len={r.max_model_len} leaves no room for the prompt: "
                             f"think_budget + answer_budget = {r.think_budget + r.answer_budget}; raise "
                             "rollout.max_model_len (prompt + completion tokens)")
        return self
