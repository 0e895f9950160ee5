"""The laptop demo: the whole training pipeline on the tiny model, with a run report."""

from thinkvl.demo.pipeline import STAGES, DemoRun
from thinkvl.demo.plan import DemoPlan, load_plan

__all__ = ["STAGES", "DemoPlan", "DemoRun", "load_plan"]
