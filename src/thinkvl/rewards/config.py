"""The reward configuration: pydantic models, the built-in default (as data) and YAML loading.

Configs are data so a run can record exactly how it was rewarded. A user YAML is merged over
the default: it only needs the keys it changes (``judge.enabled: true`` …); a domain set to
``null`` is removed. Unknown keys are errors that name the key.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from thinkvl.config import ConfigError, Section, read_yaml


class FormatConfig(Section):
    """Protocol checks that run before any verifier."""

    allow: list[str] = Field(
        default_factory=list,
        description="parse_response problems tolerated (e.g. text_outside_blocks); others score 0",
    )


class GuardConfig(Section):
    """Detectors that reject a box before a verifier (or judge) sees it; per-domain overridable."""

    hedge: bool = True
    hedge_prose: bool = False  # open answers: only value hedges (ranges, "approximately", ±)
    hyphen_ranges: bool = True  # "3-5" is a range; off for math, where it is subtraction
    injection: bool = True
    restate_question: bool = True
    language: bool = True
    multiple_answers: bool = True
    list_item_max_words: int | None = None  # set for prose domains: only lists of short items count
    max_box_chars: int = 1000
    max_len_ratio: float | None = 4.0  # box may be at most ratio * len(reference) + 32 chars


class PenaltyConfig(Section):
    """Whole-response penalties: the score is multiplied by (1 - penalty) when flagged."""

    language_mix: float = Field(0.5, ge=0, le=1)
    repetition: float = Field(1.0, ge=0, le=1)
    language_min_chars: int = 4  # this many letters of an unexpected script make a mix
    repetition_min_chars: int = 600  # shorter texts are never called repetitive
    repetition_max_ratio: float = 0.15  # zlib ratio of the last 1000 chars below which it loops


class MathConfig(Section):
    """Symbolic equivalence (math-verify + sympy) in killable worker processes."""

    timeout_s: float = Field(2.0, gt=0)
    workers: int = Field(1, ge=1)
    memory_mb: int = Field(2048, ge=256)
    rel_tol: float = Field(1e-6, ge=0)
    cache_size: int = Field(100_000, ge=0)


class LimitConfig(Section):
    """Bounds on the work one item may cost, whatever the model wrote."""

    item_timeout_s: float = Field(
        1.0,
        gt=0,
        description="wall-clock limit on one item's rule stage (format, guards, verifier); an "
        "item over it scores 0 with the timeout flag. Symbolic math has math.timeout_s, the "
        "judge judge.timeout_s per attempt",
    )


class JudgeConfig(Section):
    """Any OpenAI-compatible chat endpoint; the key is read from ``api_key_env``, never stored."""

    enabled: bool = False
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = "THINKVL_JUDGE_API_KEY"
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(3, ge=0)
    backoff_s: float = Field(1.0, ge=0)
    concurrency: int = Field(32, ge=1)
    max_tokens: int = Field(512, ge=1)
    temperature: float = 0.0
    cache_dir: str | None = "~/.cache/thinkvl/judge"

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, v: str | None) -> str | None:
        return v.rstrip("/") if v else v


class DomainConfig(Section):
    """One domain: which verifier family, whether it may ask the judge, and overrides."""

    verifier: str
    judge: bool = False
    guards: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)


class RewardConfig(Section):
    version: int = 1
    format: FormatConfig = Field(default_factory=FormatConfig)
    guards: GuardConfig = Field(default_factory=GuardConfig)
    penalties: PenaltyConfig = Field(default_factory=PenaltyConfig)
    math: MathConfig = Field(default_factory=MathConfig)
    limits: LimitConfig = Field(default_factory=LimitConfig)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    aliases: dict[str, str] = Field(default_factory=dict)
    domains: dict[str, DomainConfig] = Field(default_factory=dict)

    def guards_for(self, domain: str) -> GuardConfig:
        """Global guards with the domain's overrides applied (validated)."""
        over = self.domains[domain].guards
        if not over:
            return self.guards
        try:
            return GuardConfig.model_validate({**self.guards.model_dump(), **over})
        except ValidationError as exc:
            raise ConfigError(f"domains.{domain}.guards: {exc}") from None


_FREE = {"list_item_max_words": 4, "max_len_ratio": None, "hedge_prose": True}
_OWN_RULES = {"multiple_answers": False, "max_len_ratio": None}
_NO_RANGES = {"hyphen_ranges": False}  # "3-5" is subtraction in maths

# The default configuration, as data. configs/rewards_default.yaml is a copy for users to edit.
DEFAULT_CONFIG: dict[str, Any] = {
    "version": 1,
    "format": {"allow": []},
    "guards": GuardConfig().model_dump(),
    "penalties": PenaltyConfig().model_dump(),
    "math": MathConfig().model_dump(),
    "limits": LimitConfig().model_dump(),
    "judge": JudgeConfig().model_dump(),
    "aliases": {
        "geometry": "math",
        "stem": "math",
        "doc": "long_doc",
        "document": "long_doc",
        "mcq": "choice",
        "multiple_choice": "choice",
    },
    "domains": {
        "math": {"verifier": "math", "guards": dict(_NO_RANGES)},
        "physics": {
            "verifier": "science",
            "judge": True,
            "guards": dict(_NO_RANGES),
            "options": {"kind": "physics", "rel_tol": 0.01},
        },
        "chemistry": {
            "verifier": "science",
            "judge": True,
            "guards": dict(_NO_RANGES),
            "options": {"kind": "chemistry", "rel_tol": 0.01},
        },
        "chart": {"verifier": "chart", "judge": True, "options": {"rel_tol": 0.05}},
        "ocr": {"verifier": "ocr", "options": {"min_similarity": 0.0}},
        "counting": {"verifier": "counting"},
        "choice": {"verifier": "choice"},
        "vqa": {"verifier": "text", "judge": True},
        "video": {"verifier": "text", "judge": True},
        "spatial": {"verifier": "text", "judge": True, "options": {"rel_tol": 0.0}},
        "long_doc": {"verifier": "text", "judge": True, "guards": dict(_FREE)},
        "grounding": {  # hedge words on: "approximately [box]" is no answer (issue 20)
            "verifier": "grounding",
            "guards": {**_OWN_RULES, **_NO_RANGES},
            "options": {"iou_threshold": 0.5, "max_box_ratio": 1.0},
        },
        "gui": {
            "verifier": "gui",
            "guards": dict(_OWN_RULES),
            "options": {"text_correct_threshold": 1.0},
        },
        "general": {"verifier": "open", "judge": True, "guards": {**_FREE, "max_box_chars": 8000}},
    },
}


def _merge(base: Any, over: Any) -> Any:
    """Deep-merge ``over`` into ``base``: mappings merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merge(base[key], value) if key in base and value is not None else value
        return out
    return copy.deepcopy(over)


def build(data: dict[str, Any] | None = None, *, merge_default: bool = True) -> RewardConfig:
    """Validate ``data`` (merged over the default unless ``merge_default`` is False)."""
    merged = (
        _merge(copy.deepcopy(DEFAULT_CONFIG), data or {}) if merge_default else dict(data or {})
    )
    domains = merged.get("domains") or {}
    merged["domains"] = {k: v for k, v in domains.items() if v is not None}
    try:
        return RewardConfig.model_validate(merged)
    except ValidationError as exc:
        lines = []
        for item in exc.errors():
            key = ".".join(str(p) for p in item["loc"])
            lines.append(f"reward config key {key!r}: {item['msg']} (got {item.get('input')!r})")
        raise ConfigError("\n".join(lines)) from None


def default_config() -> RewardConfig:
    return build({})


def load(path: str | Path | None) -> RewardConfig:
    """The default config, or ``path`` (YAML, merged over the default; ``replace: true`` at the
    top level uses the file alone)."""
    if path is None:
        return default_config()
    data = read_yaml(path)
    replace = bool(data.pop("replace", False))
    try:
        return build(data, merge_default=not replace)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
