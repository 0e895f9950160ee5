"""Physics and chemistry: quantities with units go to the judge (after a rule check that saves
most calls); plain numbers and expressions are verified as math; chemical formulas and words
are compared as normalised text, then judged."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from thinkvl.config import Section

from .. import result as R
from ..extract import normalize_answer
from ..result import Deferred, Outcome
from .base import Ctx, Verifier, reference_text, register
from .math import gold_alternatives, math_check
from .mathfast import fast_equal

_PREFIX = "(?:Y|Z|E|P|T|G|M|k|h|da|d|c|m|u|µ|μ|n|p|f)?"
_BASE = (
    "m|s|g|A|K|mol|cd|N|J|W|V|C|F|Ω|ohm|Ohm|S|T|Wb|H|Hz|Pa|bar|atm|L|l|eV|rad|sr|Bq|Gy|"
    "Sv|lx|lm|min|h|hr|yr|day|cal|°C|°F|degC|M|mmHg|torr|Torr|amu|u|Da|dB|rpm"
)
_UNIT_TOKEN_RE = re.compile(rf"^{_PREFIX}(?:{_BASE})$")
_NUMBER = (
    r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
    r"(?:\s*(?:\\times|×|\*|\\cdot)\s*10\s*\^\s*\{?\s*[-+]?\d+\s*\}?)?"
)
_QUANTITY_RE = re.compile(rf"^\s*({_NUMBER})\s*(.+?)\s*$")
_UNIT_CLEAN_RE = re.compile(
    r"\\(?:text|mathrm|rm|mbox|operatorname)\s*\{([^{}]*)\}|\\[,;:!]|\\ |~|[{}\s]"
)
_UNIT_SPLIT_RE = re.compile(r"[/*·^()\-\d]+|\\cdot")
# Exponents, subscripts and powers of ten are parts of one value, not values of their own.
_NOT_A_VALUE_RE = re.compile(
    r"(?:\\times|×|\*|\\cdot)\s*10\s*\^\s*\{?\s*[-+]?\d+\s*\}?|[\^_]\s*\{?\s*[-+]?\d+(?:\.\d+)?\s*\}?"
    r"|(?<=\d)[eE][-+]?\d+"
)
_VALUE_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+")
_FORMULA_RE = re.compile(r"^(?:[A-Z][a-z]?\d*|[()\[\]]|\d+|[+\-→=]|_\{?\d+\}?|\^\{?\d*[+-]\}?)+$")


class ScienceOptions(Section):
    kind: str = Field("physics", pattern="^(physics|chemistry)$")
    rel_tol: float = Field(0.01, ge=0, description="tolerance for the number of a quantity")


def clean_unit(text: str) -> str:
    """``\\text{m/s}^2`` → ``m/s^2``; ``ohm`` → ``Ω``; ``μ`` → ``µ``."""
    text = _UNIT_CLEAN_RE.sub(lambda m: m.group(1) or "", text)
    text = text.replace("\\cdot", "*").replace("·", "*").replace("\\Omega", "Ω")
    text = text.replace("\\mu", "µ").replace("μ", "µ").replace("\\circ", "°").replace("^°", "°")
    return text.replace("ohm", "Ω").replace("Ohm", "Ω")


def split_quantity(text: str) -> tuple[str, str] | None:
    """(number, unit) when ``text`` is a number followed by a recognisable unit, else None."""
    m = _QUANTITY_RE.match(text)
    if not m:
        return None
    unit = clean_unit(m.group(2))
    tokens = [t for t in _UNIT_SPLIT_RE.split(unit) if t]
    if not tokens or not all(_UNIT_TOKEN_RE.match(t) for t in tokens):
        return None
    return m.group(1), unit


def value_count(text: str) -> int:
    """How many separate numbers ``text`` states ("3 \\times 10^8 m/s" is one; "3 m/s / 2 m/s"
    two): a quantity with units goes to the judge, which must not see two answers at once."""
    return len(_VALUE_RE.findall(_NOT_A_VALUE_RE.sub(" ", text)))


def is_formula_or_word(text: str) -> bool:
    """Chemical formulas (``H_2O``, ``NaCl``) and words are not algebra (NaCl ≠ N·a·C·l)."""
    t = text.replace("\\mathrm", "").replace("{", "").replace("}", "").replace(" ", "")
    t = t.replace("\\rightarrow", "→").replace("\\to", "→")
    if not t:
        return False
    if _FORMULA_RE.match(t) and any(c.isupper() for c in t) and len(t) > 1:
        return True
    return sum(c.isalpha() for c in t) >= 3 and "\\" not in t and not re.search(r"[\^=/]", t)


def _norm_formula(text: str) -> str:
    return re.sub(r"\\mathrm|\\text|[{}_\s$]", "", text)


@register
class ScienceVerifier(Verifier):
    name = "science"
    Options = ScienceOptions

    def check(self, box: str, gold: Any, ctx: Ctx) -> Outcome | Deferred:
        ref = reference_text(gold).strip()
        quantity = split_quantity(ref)
        if quantity is not None:
            return self._quantity(box, gold, quantity, ctx)
        if self.opt.kind == "chemistry" and is_formula_or_word(ref):
            if _norm_formula(box) == _norm_formula(ref) or normalize_answer(
                box
            ) == normalize_answer(ref):
                return Outcome(1.0, True, "matches the reference formula/text", box)
            return self.ask_judge(box, gold, ctx, "formula/text differs from the reference", box)
        return math_check(self.env.math, box, gold_alternatives(gold))

    def _quantity(self, box: str, gold: Any, want: tuple[str, str], ctx: Ctx) -> Outcome | Deferred:
        if value_count(box) > 1:
            return Outcome(0.0, False, "several values for one quantity", box, (R.MULTIPLE_ANSWERS,))
        got = split_quantity(box)
        if got is not None and got[1] == want[1]:
            equal = fast_equal(want[0], got[0], self.opt.rel_tol)
            if equal:
                return Outcome(
                    1.0,
                    True,
                    f"{got[0]} {got[1]} matches (same unit, rel_tol {self.opt.rel_tol:g})",
                    box,
                )
            if equal is False:
                return Outcome(
                    0.0, False, f"{got[0]} {got[1]} differs from {want[0]} {want[1]}", box
                )
        why = "quantity with units" if got is None else f"unit {got[1]!r} vs {want[1]!r}"
        return self.ask_judge(box, gold, ctx, why, box)
