"""Short free-form answers (VQA, video, spatial, long documents): exact/normalised, then judge.

A numeric reference (``3``, ``"2.5"``) is settled by rules (number words count: "three" = 3);
a list reference holds acceptable alternatives.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from thinkvl.config import Section

from .. import result as R
from ..extract import close, normalize_answer, number_of, parse_number, unwrap_latex
from ..result import Deferred, Outcome
from .base import Ctx, Verifier, reference_text, register


class TextOptions(Section):
    rel_tol: float = Field(0.0, ge=0, description="tolerance when the reference is a number")


def alternatives(gold: Any) -> list[Any]:
    if isinstance(gold, (list, tuple)):
        return [g for g in gold if g is not None]
    return [] if gold is None else [gold]


def as_number(value: Any) -> float | None:
    """A number from a reference or a box ("3", "3.0", "three", 3)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an integer past float range: no number to compare with
            return None
    text = unwrap_latex(str(value))
    got = parse_number(text) or number_of(normalize_answer(text))
    return got[0] if got is not None and not got[1] else None


@register
class TextVerifier(Verifier):
    name = "text"
    Options = TextOptions

    def check(self, box: str, gold: Any, ctx: Ctx) -> Outcome | Deferred:
        golds = alternatives(gold)
        if not golds:
            return Outcome(0.0, False, "no reference answer", None, (R.NO_REFERENCE,))
        pred = normalize_answer(box)
        if any(pred == normalize_answer(reference_text(g)) for g in golds):
            return Outcome(1.0, True, "matches the reference (normalised)", pred)
        numeric = [n for n in (as_number(g) for g in golds) if n is not None]
        if numeric and len(numeric) == len(golds):
            got = as_number(box)
            if got is None:
                return Outcome(
                    0.0, False, "reference is a number; the box is not", pred, (R.UNPARSABLE,)
                )
            ok = any(close(got, n, self.opt.rel_tol) for n in numeric)
            return self.verdict(ok, f"{got:g} vs reference {numeric[0]:g}", got)
        return self.ask_judge(
            box, golds[0] if len(golds) == 1 else golds, ctx, "no exact match", pred
        )
