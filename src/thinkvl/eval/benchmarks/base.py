"""What every benchmark loader produces: :class:`EvalItem` s, and the registry that names loaders.

An item carries everything scoring needs, so a stored prediction can be re-scored without the
benchmark's files: the chat prompt, the gold answer, the *scoring family* (how the reward
system's verifiers read it), and — for published benchmarks — the *official metric* that
scores it the way the benchmark's authors do (``metric``), plus the categories its results are
broken down by (``categories``: task, skill, duration, domain, …).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Scoring families: how a prediction is verified when no official metric is named (scoring.py).
CHOICE = "choice"  # one option letter
NUMERIC = "numeric"  # a number, compared at the benchmark's precision
OCR = "ocr"  # text similarity, ANLS (normalised edit distance with a 0.5 threshold)
GROUNDING = "grounding"  # boxes, IoU > 0.5
GUI = "gui"  # actions, point inside the target box
OPEN = "open"  # free text: exact, then the LLM judge
NATIVE = "native"  # thinkvl records: the record's own domain verifier
FAMILIES = (CHOICE, NUMERIC, OCR, GROUNDING, GUI, OPEN, NATIVE)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class EvalItem:
    """One question: chat prompt (media as path, data URI, PIL image or frame list), gold answer.

    ``domain`` is the reward-system domain whose verifier scores it when ``metric`` is empty;
    ``metric`` names an official metric (``thinkvl.eval.metrics``) that scores it instead.
    ``group`` is the main breakdown (the domain, or a benchmark's category such as video
    duration); ``categories`` holds every breakdown the benchmark defines (a value may be a
    list when an item has several, e.g. MathVista skills).
    """

    id: str
    bench: str
    family: str
    domain: str
    prompt: list[dict]
    answer: Any
    question: str = ""
    base_dir: str | None = None
    group: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    metric: str = ""
    categories: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"item {self.id}: unknown scoring family {self.family!r}; "
                             f"expected one of {', '.join(FAMILIES)}")
        self.group = self.group or self.domain


# A loader reads a benchmark file or folder and yields items; rows it deliberately leaves out
# (an unsupported task type) are counted in ``skipped`` by reason, never dropped silently.
Loader = Callable[[Path, dict[str, int]], Iterator[EvalItem]]


@dataclass(frozen=True)
class BenchmarkSpec:
    """A registered benchmark: its loader, where it sits under a data root, its default split
    (files whose names hold the split are read from a folder), and one line for tables."""

    name: str
    loader: Loader
    default_path: str  # relative to the data root
    family: str  # the main scoring family (items may differ, e.g. MathVista free-form)
    description: str
    split: str | None = None
    metric: str = ""


REGISTRY: dict[str, BenchmarkSpec] = {}


def register(spec: BenchmarkSpec) -> BenchmarkSpec:
    """Add a benchmark (third-party code can register its own loaders)."""
    REGISTRY[spec.name] = spec
    return spec


@dataclass
class Benchmark:
    name: str
    path: Path
    items: list[EvalItem]
    skipped: dict[str, int] = field(default_factory=dict)  # rows left out or shown differently


def user(parts: list[dict]) -> list[dict]:
    """A one-turn chat prompt."""
    return [{"role": "user", "content": parts}]


def options_text(options: list[str], style: str = "({letter}) {option}") -> str:
    return "\n".join(style.format(letter=LETTERS[i], option=o) for i, o in enumerate(options))
