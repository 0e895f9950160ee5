"""Result types shared by verifiers, the router and callers.

A verifier returns an :class:`Outcome` (a decision) or a :class:`Deferred` (work the router
batches: symbolic math in the worker pool, LLM judge calls). The router turns outcomes into
:class:`RewardResult`, the one shape every caller sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Flag names callers may rely on (rollout filters, dashboards).
FORMAT_ERROR = "format_error"
NO_BOX = "no_box"
MULTIPLE_BOXES = "multiple_boxes"
EMPTY_BOX = "empty_box"
HEDGED = "hedged"
MULTIPLE_ANSWERS = "multiple_answers"
INJECTION = "injection"
RESTATED_QUESTION = "restated_question"
LANGUAGE_MIX = "language_mix"
REPETITION = "repetition"
TOO_LONG = "too_long"
TRUNCATED = "truncated"
TIMEOUT = "timeout"
PENALIZED = "penalized"  # a right answer whose reward a penalty took: correct is False
JUDGE_FAILED = "judge_failed"
JUDGED = "judged"
RULES_ONLY = "rules_only"
UNPARSABLE = "unparsable"
NO_REFERENCE = "no_reference"


@dataclass(slots=True)
class Outcome:
    """A verifier's decision about one prediction (before shared penalties)."""

    score: float
    correct: bool
    reason: str
    extracted: Any = None
    flags: tuple[str, ...] = ()
    missing: bool = False


@dataclass(slots=True)
class Deferred:
    """Work a verifier hands to the router so it can be batched (``kind``: "math" or "judge").

    ``finish`` turns the batched result for ``payload`` into the final :class:`Outcome`.
    """

    kind: str
    payload: Any
    finish: Callable[[Any], Outcome]


@dataclass(slots=True)
class RewardResult:
    """The reward for one response: ``score`` in [0, 1], ``correct`` for filtering/accuracy.

    ``correct`` and ``score`` agree by construction: ``correct`` is True only when the verifier
    accepted the answer *and* no penalty cut its reward, so it never comes with a score of 0
    (the curriculum and dynamic sampling read ``correct``, the advantage reads ``score``). A
    right answer that lost its reward to a penalty (repetition, language mix) is not correct and
    carries the ``penalized`` flag.

    ``missing`` is True when no judgement could be made (the judge failed after retries);
    trainers should leave such samples out of the advantage instead of reading the 0 as wrong.
    """

    score: float
    correct: bool
    extracted: Any
    verifier: str
    reason: str
    flags: set[str] = field(default_factory=set)
    missing: bool = False
    domain: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (flags sorted for stable output)."""
        return {
            "score": self.score,
            "correct": self.correct,
            "extracted": self.extracted,
            "verifier": self.verifier,
            "reason": self.reason,
            "flags": sorted(self.flags),
            "missing": self.missing,
            "domain": self.domain,
        }

    @property
    def reward(self) -> float | None:
        """The score, or None when the judgement is missing (for advantage estimators)."""
        return None if self.missing else self.score
