"""Counting: exactly one integer. Ranges, hedges and several numbers score 0 (the report's
"a number between 1 and 10" hack is caught here and by the hedge guard)."""

from __future__ import annotations

import re
from typing import Any

from .. import result as R
from ..extract import NUMBER_WORDS, to_float, unwrap_latex
from ..result import Outcome
from .base import Ctx, Verifier, describe, register

_NUM_RE = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w.]*\d)")
_WORD_RE = re.compile(r"[a-z]+")
_WORDS = {**NUMBER_WORDS, "none": 0}


def extract_count(box: str) -> tuple[int | None, str]:
    """(the integer, "") or (None, why it is not a single integer)."""
    if box.isdigit() and box.isascii():
        return int(box), ""
    text = unwrap_latex(box).lower().replace(",", " ")
    numbers = [to_float(t) for t in _NUM_RE.findall(text)]
    numbers += [float(_WORDS[w]) for w in _WORD_RE.findall(text) if w in _WORDS]
    if not numbers:
        return None, "no number in the box"
    if len(numbers) > 1:
        return None, "several numbers in the box"
    value = numbers[0]
    if value is None or not value.is_integer():
        return None, "not an integer"
    return int(value), ""


_MAX_COUNT = 10**15  # larger "counts" are corrupt references (and have no str() past 4,300 digits)


def gold_count(gold: Any) -> int | None:
    if isinstance(gold, bool):
        return None
    if isinstance(gold, int):
        return gold if abs(gold) < _MAX_COUNT else None
    if isinstance(gold, float) and gold.is_integer():
        return int(gold)
    if isinstance(gold, str):
        value, _ = extract_count(gold)
        return value
    return None


@register
class CountingVerifier(Verifier):
    name = "counting"

    def check(self, box: str, gold: Any, ctx: Ctx) -> Outcome:
        want = gold_count(gold)
        if want is None:
            return Outcome(
                0.0, False, f"reference {describe(gold)} is not an integer", None, (R.NO_REFERENCE,)
            )
        got, why = extract_count(box)
        if got is None:
            flags = (R.MULTIPLE_ANSWERS,) if why.startswith("several") else (R.UNPARSABLE,)
            return Outcome(0.0, False, why, None, flags)
        return self.verdict(got == want, f"count {got} vs reference {want}", got)
