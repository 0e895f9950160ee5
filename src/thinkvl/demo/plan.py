"""The demo's plan as data: sizes of every stage, and the smaller ``--quick`` variant.

The plan lives in a YAML recipe shipped with the package (``thinkvl/configs/demo.yaml``) so that
``thinkvl demo`` works from any directory after ``pip install``; the per-stage recipes it names
(``demo_pretrain``, ``demo_sft``, ``demo_rl``) are shipped beside it.
"""

from __future__ import annotations

from pydantic import Field

from thinkvl.config import Section, build_config, read_yaml


class WorldPlan(Section):
    per_domain: int = Field(1000, ge=1, description="SFT / RL-train records per synthetic domain")
    levels: list[int] = Field(default_factory=lambda: [1, 2, 3, 4], description="difficulty levels drawn")
    seed: int = 0
    image_size: int = Field(64, ge=32, le=1024)


class StagePlan(Section):
    recipe: str = Field(..., description="a recipe file or the name of a shipped one")
    steps: int = Field(..., ge=1)
    overrides: list[str] = Field(default_factory=list, description="extra dotted overrides")


class GradePlan(Section):
    per_domain: int = Field(64, ge=1, description="prompts graded offline per domain (the rest start unseen)")
    k: int = Field(4, ge=1, description="rollouts per prompt for pass@k")


class EvalPlan(Section):
    per_domain: int = Field(48, ge=1, description="held-out records per domain")
    direct: bool = Field(True, description="also evaluate with /nothink (direct answers)")
    samples: int = Field(
        0, ge=0, description="also draw this many samples per held-out record at the rollout "
                             "temperature (think mode, before and after RL; RL's own objective): "
                             "rl_improves_heldout then judges the sampled accuracy")


class ChecksPlan(Section):
    min_rl_gain: float = Field(
        0.0, description="the paired bootstrap 95% interval of the held-out change (think mode; "
                         "sampled when measured) must lie above this")
    enforce: bool = Field(True, description="exit non-zero when a check fails")


class DemoPlan(Section):
    world: WorldPlan = WorldPlan()
    pretrain: StagePlan
    sft: StagePlan
    grade: GradePlan = GradePlan()
    rl: StagePlan
    eval: EvalPlan = EvalPlan()
    checks: ChecksPlan = ChecksPlan()
    quick: list[str] = Field(default_factory=list, description="overrides applied by --quick")


def load_plan(path: str = "demo", quick: bool = False, overrides: list[str] | None = None) -> DemoPlan:
    """The demo plan; ``quick`` applies the plan's own ``quick`` overrides first."""
    data = read_yaml(path)
    extra = list(data.get("quick", [])) if quick else []
    return build_config(DemoPlan, data, extra + list(overrides or []))
