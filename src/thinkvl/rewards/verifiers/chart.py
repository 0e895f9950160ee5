"""Charts: numbers within a relative tolerance (years exactly); text exact, then the judge."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from thinkvl.config import Section

from .. import result as R
from ..extract import close, normalize_answer, number_of, parse_number, unwrap_latex
from ..result import Deferred, Outcome
from .base import Ctx, Verifier, reference_text, register


class ChartOptions(Section):
    rel_tol: float = Field(0.05, ge=0)
    year_min: int = 1000
    year_max: int = 2100


def numbers_match(
    pred: tuple[float, bool], gold: tuple[float, bool], rel_tol: float, years: tuple[int, int]
) -> bool:
    """Percent-aware comparison; a year-like integer reference must match exactly."""
    gv, gp = gold
    pv, pp = pred
    if gv.is_integer() and years[0] <= gv <= years[1] and not gp:
        return pv == gv
    cands_g = (gv, gv / 100) if gp else (gv,)
    cands_p = (pv, pv / 100) if pp else (pv,)
    return any(close(a, b, rel_tol) for a in cands_g for b in cands_p)


def gold_number(gold: Any) -> tuple[float, bool] | None:
    if isinstance(gold, bool):
        return None
    if isinstance(gold, (int, float)):
        try:
            return float(gold), False
        except OverflowError:  # an integer past float range is no chart value
            return None
    if isinstance(gold, str):
        return parse_number(unwrap_latex(gold))
    return None


@register
class ChartVerifier(Verifier):
    name = "chart"
    Options = ChartOptions

    def check(self, box: str, gold: Any, ctx: Ctx) -> Outcome | Deferred:
        if gold is None:
            return Outcome(0.0, False, "no reference answer", None, (R.NO_REFERENCE,))
        want = gold_number(gold)
        if want is not None:
            got = number_of(box)
            if got is None:
                return Outcome(
                    0.0,
                    False,
                    "reference is a number; the box holds no single number",
                    None,
                    (R.UNPARSABLE,),
                )
            ok = numbers_match(got, want, self.opt.rel_tol, (self.opt.year_min, self.opt.year_max))
            return self.verdict(
                ok, f"{got[0]:g} vs reference {want[0]:g} (rel_tol {self.opt.rel_tol:g})", got[0]
            )
        pred = normalize_answer(box)
        if pred == normalize_answer(reference_text(gold)):
            return Outcome(1.0, True, "text matches the reference", pred)
        return self.ask_judge(box, gold, ctx, "text differs from the reference", pred)
