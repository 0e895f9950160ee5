"""The optimizer every stage trains with, built one way: AdamW over fp32 master weights.

Pre-training, SFT and RL share ``OptimConfig`` and ``build_optimizer``; only their defaults differ
(stage defaults are data, merged under whatever a recipe sets: ``with_stage_defaults``).

- Parameter groups: language model first, then the vision tower at ``lr × vision_lr_scale``
  (``0`` freezes it: no gradients, no optimizer state) and the projector (the bridge into the
  language model) at ``lr × projector_lr_scale`` (unset: as the tower; a family whose projector
  sits inside the tower's module, GLM-4.1V's merger, has always moved with it); biases and norm
  weights (1-D parameters) get no weight decay. Which parameter is which comes from the family
  adapter's module names (``Family.part_of``), or, without one, from a name match.
- Schedule: linear warm-up, then constant, cosine or linear decay to ``min_lr_ratio × lr`` at the
  stage's last step (``lr_lambda``).
- Precision: the optimizer only ever steps fp32 parameters. AdamW on bf16 weights rounds away
  updates of ~1e-6 (measured on the tiny model: 1.6% of elements moved by one step at lr 1e-6,
  92% in fp32), so a bf16 checkpoint would silently not learn; ``build_optimizer`` refuses
  trainable parameters in any other dtype. bf16 *compute* is ``precision: bf16``
  (``runtime.precision``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field

from thinkvl.config import Section

VISION_MODULES = ("visual", "vision_tower", "vision_model")


class OptimConfig(Section):
    lr: float = Field(1e-4, ge=0)
    vision_lr_scale: float = Field(
        1.0, ge=0, description="vision tower lr = lr × this; 0 freezes it (no vision gradients). A "
                               "ViT trained at the LM's lr can collapse")
    projector_lr_scale: float | None = Field(
        None, ge=0, description="projector (vision-to-language bridge) lr = lr × this; 0 freezes it; "
                                "unset: the vision tower's scale")
    weight_decay: float = Field(0.1, ge=0, description="decoupled (AdamW); never on 1-D parameters")
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = Field(1e-8, gt=0)
    grad_clip: float = Field(1.0, gt=0)
    warmup_steps: int = Field(0, ge=0)
    schedule: Literal["cosine", "linear", "constant"] = Field(
        "cosine", description="after warm-up: constant, or decay to min_lr_ratio × lr at the last step")
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="final lr / peak lr (cosine, linear)")
    precision: Literal["fp32", "bf16"] = Field(
        "fp32", description="compute dtype; master weights, gradients' reduction and optimizer "
                            "state stay fp32 either way")


# RL fine-tunes an SFT model: a constant lr after warm-up, no decay, Adam's slower second moment.
RL_DEFAULTS = {"schedule": "constant", "weight_decay": 0.0, "betas": (0.9, 0.99)}


def with_stage_defaults(defaults: dict[str, Any]) -> Callable[[Any], Any]:
    """A before-validator for a stage's ``optim`` section: the recipe's keys over the stage's
    defaults over ``OptimConfig``'s, so ``optim: {lr: 1e-6}`` in an RL recipe keeps RL's schedule."""

    def merge(value: Any) -> Any:
        if value is None:
            return dict(defaults)
        if isinstance(value, OptimConfig):
            return value
        if isinstance(value, dict):
            return {**defaults, **value}
        return value  # pydantic reports the wrong type

    return merge


def lr_lambda(step: int, total: int, warmup: int, schedule: str, min_ratio: float) -> float:
    """Linear warm-up, then cosine / linear decay to ``min_ratio`` (or constant)."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule == "linear":
        return 1.0 - (1.0 - min_ratio) * progress
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def is_vision_param(name: str) -> bool:
    """Parameters of the vision encoder (GLM/Qwen ``visual``, LLaVA ``vision_tower``, …), by name
    (a family adapter's ``part_of`` knows the tower and the projector apart)."""
    return any(part in VISION_MODULES for part in name.split("."))


def part_of(name: str, adapter=None) -> str:
    """``"vision"``, ``"projector"`` or ``"language"``: by the family adapter's module names, or
    (no adapter) vision by name match and everything else language."""
    if adapter is not None:
        return adapter.part_of(name)
    return "vision" if is_vision_param(name) else "language"


def part_scale(part: str, cfg_or_vision: "OptimConfig | float", projector: float | None = None) -> float:
    """The lr scale of a part (the projector follows the tower unless set)."""
    if isinstance(cfg_or_vision, OptimConfig):
        vision, projector = cfg_or_vision.vision_lr_scale, cfg_or_vision.projector_lr_scale
    else:
        vision = cfg_or_vision
    if part == "vision":
        return vision
    if part == "projector":
        return vision if projector is None else projector
    return 1.0


def freeze_vision(model, vision_lr_scale: float, adapter=None, projector_lr_scale: float | None = None) -> None:
    """A part whose lr scale is 0 is frozen (the tower at ``vision_lr_scale == 0``, the projector
    with it unless ``projector_lr_scale`` is set): no gradients, no optimizer state."""
    for name, p in model.named_parameters():
        part = part_of(name, adapter)
        if part != "language" and part_scale(part, vision_lr_scale, projector_lr_scale) == 0:
            p.requires_grad_(False)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class PrecisionError(TypeError):
    """Trainable parameters that are not fp32: the optimizer would round small updates away."""


def check_master_weights(model) -> None:
    """Refuse to optimise parameters in anything but fp32 (see the module notes)."""
    wrong = sorted({str(p.dtype).removeprefix("torch.") for p in model.parameters()
                    if p.requires_grad and p.dtype != torch.float32})
    if wrong:
        raise PrecisionError(
            f"trainable parameters are {', '.join(wrong)}; thinkvl keeps fp32 master weights (AdamW "
            "on bf16 weights loses updates below ~1e-3 relative). Load the model in float32 "
            "(thinkvl.runtime.precision.load_for_training) and set optim.precision=bf16 for bf16 "
            "compute")


PART_ORDER = {"language": 0, "vision": 1, "projector": 2}


def param_groups(model, cfg: OptimConfig, adapter=None) -> list[dict]:
    """Trainable parameters split by (part, decayed?), language model first."""
    groups: dict[tuple[int, bool], list] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            groups.setdefault((PART_ORDER[part_of(name, adapter)], p.ndim >= 2), []).append(p)
    parts = {v: k for k, v in PART_ORDER.items()}
    return [{"params": ps, "weight_decay": cfg.weight_decay if decay else 0.0,
             "lr": cfg.lr * part_scale(parts[order], cfg), "part": parts[order]}
            for (order, decay), ps in sorted(groups.items())]


def build_optimizer(model, cfg: OptimConfig, total_steps: int, adapter=None):
    """AdamW over ``model``'s trainable fp32 parameters and its lr schedule over ``total_steps``.

    Returns ``(optimizer, scheduler)``. The schedule counts the stage's steps (``total_steps``):
    step it once per training step, after that step's optimizer steps (an RL step may take
    several: ``rl.mini_batches``); ``scheduler.get_last_lr()[0]`` before stepping is the language
    model's lr of that step.
    """
    check_master_weights(model)
    groups = param_groups(model, cfg, adapter)
    if not groups:
        raise ValueError("the model has no trainable parameters (is everything frozen?)")
    device = next(p for g in groups for p in g["params"]).device
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps,
                                  foreach=device.type == "cuda")
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_lambda(
        s, total_steps, cfg.warmup_steps, cfg.schedule, cfg.min_lr_ratio))
    return optimizer, scheduler
