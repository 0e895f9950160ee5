"""The verifier interface, the per-item context and the registry of verifier families.

A verifier family (``math``, ``ocr``, ``gui`` …) is a class registered by name; domains in the
config pick a family and pass it options, which the family validates with its own model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from thinkvl.config import Section

from .. import result as R
from ..result import Deferred, Outcome


class NoOptions(Section):
    """Families without options still reject unknown keys."""


@dataclass(slots=True)
class Ctx:
    """What a verifier may know about the item besides the box and the reference."""

    domain: str
    question: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    use_judge: bool = False


class Verifier:
    """Base class: ``check(box, gold, ctx)`` returns an Outcome or a Deferred (math/judge)."""

    name: ClassVar[str] = ""
    Options: ClassVar[type[Section]] = NoOptions

    def __init__(self, options: Section, env: Any) -> None:
        self.opt = options
        self.env = env

    def reference_text(self, gold: Any) -> str:
        """The reference as text, for guards (hedge words the reference itself uses are fine)."""
        return reference_text(gold)

    def check(self, box: str, gold: Any, ctx: Ctx) -> Outcome | Deferred:
        raise NotImplementedError

    # ---------------------------------------------------------------- helpers for subclasses
    def verdict(
        self, ok: bool, reason: str, extracted: Any = None, flags: tuple[str, ...] = ()
    ) -> Outcome:
        return Outcome(1.0 if ok else 0.0, ok, reason, extracted, flags)

    def ask_judge(
        self, box: str, gold: Any, ctx: Ctx, why: str, extracted: Any = None, mode: str = "verdict"
    ) -> Outcome | Deferred:
        """Defer to the LLM judge, or say "rules only" when this domain has none."""
        if not ctx.use_judge:
            return Outcome(
                0.0, False, f"{why}; no judge configured (rules only)", extracted, (R.RULES_ONLY,)
            )
        from ..judge import JudgeRequest

        req = JudgeRequest(
            prediction=box,
            reference=None if gold is None else reference_text(gold),
            question=ctx.question,
            domain=ctx.domain,
            mode=mode,
        )
        return Deferred("judge", req, lambda v: judged_outcome(v, why, extracted))


def judged_outcome(verdict: Any, why: str, extracted: Any) -> Outcome:
    """Turn a judge verdict into an outcome; a failed judgement is *missing*, never a silent 0."""
    if verdict.failed:
        return Outcome(
            0.0,
            False,
            f"{why}; judge failed: {verdict.error}",
            extracted,
            (R.JUDGE_FAILED,),
            missing=True,
        )
    src = "judge (cached)" if verdict.cached else "judge"
    return Outcome(
        verdict.score, verdict.correct, f"{why}; {src} says {verdict.label}", extracted, (R.JUDGED,)
    )


def reference_text(gold: Any) -> str:
    """The reference as text; never raises ("" for what has no text, e.g. an integer past
    Python's 4,300-digit conversion limit or a list nested past the recursion limit)."""
    if gold is None:
        return ""
    if isinstance(gold, str):
        return gold
    if isinstance(gold, bool):
        return "true" if gold else "false"
    if isinstance(gold, float):
        return str(int(gold)) if gold.is_integer() and abs(gold) < 1e15 else repr(gold)
    try:
        if isinstance(gold, int):
            return str(gold)
        return json.dumps(gold, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return describe(gold, 10_000) if not isinstance(gold, int) else ""


def describe(value: Any, limit: int = 80) -> str:
    """A short repr of a reference or prediction for reasons; never raises (a 5,000-digit
    integer has no repr, a deeply nested list overflows it)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        text = f"<{type(value).__name__} too large to show>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


REGISTRY: dict[str, type[Verifier]] = {}


def register(cls: type[Verifier]) -> type[Verifier]:
    """Class decorator: make a verifier family available to configs by its ``name``."""
    if not cls.name or cls.name in REGISTRY:
        raise ValueError(f"verifier name {cls.name!r} is empty or taken")
    REGISTRY[cls.name] = cls
    return cls


def get_family(name: str) -> type[Verifier]:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown verifier {name!r}; known verifiers: {known}") from None
