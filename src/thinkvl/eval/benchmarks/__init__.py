"""Benchmarks: loaders that turn local benchmark files into :class:`EvalItem` s.

Each loader reads a benchmark in its *published* format — the columns of its dataset on the
Hugging Face hub, read through ``datasets`` from a local snapshot folder or its files — and
tags each item with the official metric that scores it (``thinkvl.eval.metrics``) and the
categories its results are broken down by. thinkvl's own RL/eval records (and the synthetic
world's ``rl_eval.jsonl``) load too, scored by the reward system's domain verifiers.
Nothing is downloaded: a benchmark is named as ``NAME:PATH``, as ``NAME`` under a data root,
or — for records — by its path alone.

One module per benchmark family; each registers its loaders in :data:`REGISTRY`.
"""

from __future__ import annotations

# Importing a family module registers its benchmarks.
from thinkvl.eval.benchmarks import (  # noqa: F401
                                          charts,
                                          docs,
                                          general,
                                          grounding,
                                          gui,
                                          maths,
                                          mathvista,
                                          mmmu,
                                          ocr,
                                          video,
)
from thinkvl.eval.benchmarks.base import (
                                          CHOICE,
                                          FAMILIES,
                                          GROUNDING,
                                          GUI,
                                          LETTERS,
                                          NATIVE,
                                          NUMERIC,
                                          OCR,
                                          OPEN,
                                          REGISTRY,
                                          Benchmark,
                                          BenchmarkSpec,
                                          EvalItem,
                                          Loader,
                                          options_text,
                                          register,
                                          user,
)
from thinkvl.eval.benchmarks.records import items_from_records, load_records, load_synthetic
from thinkvl.eval.benchmarks.registry import load_benchmark, parse_bench
from thinkvl.eval.benchmarks.rows import RowError, image_ref

__all__ = ["CHOICE", "FAMILIES", "GROUNDING", "GUI", "LETTERS", "NATIVE", "NUMERIC", "OCR",
           "OPEN", "REGISTRY", "Benchmark", "BenchmarkSpec", "EvalItem", "Loader", "RowError",
           "image_ref", "items_from_records", "load_benchmark", "load_records",
           "load_synthetic", "options_text", "parse_bench", "register", "user"]
