"""Evaluation harness: benchmarks → backends (HF, vLLM, OpenAI-compatible) → scores → reports.

    from thinkvl.eval import evaluate
    result = evaluate(model, processor, "world/rl_eval.jsonl", mode="think")
    result.accuracy, result.invalid_rate, result.by_domain["counting"].accuracy

Importing this package does not import torch; the HF backend does when it runs.
"""

from __future__ import annotations

from thinkvl.eval.config import EvalConfig, GenerationSettings, VisionSettings, load_eval_config
from thinkvl.eval.runner import EvalResult, Metrics, SampleResult, evaluate, run_config

__all__ = ["EvalConfig", "EvalResult", "GenerationSettings", "Metrics", "SampleResult",
           "VisionSettings", "evaluate", "load_eval_config", "run_config"]
