"""Open answers (general domain): exact match when a reference exists, else the judge — or, with
no reference at all, the judge as a 0–10 reward model (RLHF-style)."""

from __future__ import annotations

from typing import Any

from .. import result as R
from ..extract import normalize_answer
from ..result import Deferred, Outcome
from .base import Ctx, Verifier, reference_text, register


@register
class OpenVerifier(Verifier):
    name = "open"

    def check(self, box: str, gold: Any, ctx: Ctx) -> Outcome | Deferred:
        ref = reference_text(gold).strip()
        if not ref:
            out = self.ask_judge(
                box, None, ctx, "no reference (reward-model score)", box, mode="score"
            )
            if isinstance(out, Outcome):
                out.flags = out.flags + (R.NO_REFERENCE,)
            return out
        if normalize_answer(box) == normalize_answer(ref):
            return Outcome(1.0, True, "matches the reference (normalised)", box)
        return self.ask_judge(box, gold, ctx, "no exact match", box)
