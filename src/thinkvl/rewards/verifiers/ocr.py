"""OCR: partial credit 1 - edit_distance / max(len); ``correct`` only for an exact transcription.

The edit distance is bit-parallel (a 1,000-character box against a 200,000-character reference
costs ~0.2 s); pairs too long even for that score 0 with the ``too_long`` flag.

"43" vs "43.0" earns partial credit here (it is a different string) but is not correct.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from thinkvl.config import Section

from .. import result as R
from ..extract import TooLongToCompare, similarity
from ..result import Outcome
from .base import Ctx, Verifier, reference_text, register

_WS_RE = re.compile(r"\s+")


class OcrOptions(Section):
    case_sensitive: bool = True
    collapse_whitespace: bool = True
    min_similarity: float = Field(0.0, ge=0, le=1, description="scores below this become 0")


@register
class OcrVerifier(Verifier):
    name = "ocr"
    Options = OcrOptions

    def _norm(self, text: str) -> str:
        text = text.strip()
        if self.opt.collapse_whitespace and ("  " in text or "\n" in text or "\t" in text):
            text = _WS_RE.sub(" ", text)
        return text if self.opt.case_sensitive else text.lower()

    def check(self, box: str, gold: Any, ctx: Ctx) -> Outcome:
        if gold is None:
            return Outcome(0.0, False, "no reference text", None, (R.NO_REFERENCE,))
        pred, want = self._norm(box), self._norm(reference_text(gold))
        if len(pred) > 1 and pred[0] == pred[-1] and pred[0] in "\"'`" and want[:1] != pred[0]:
            pred = pred[1:-1].strip()  # quotes around the transcription are not part of it
        if pred == want:
            return Outcome(1.0, True, "exact transcription", pred)
        try:
            score = similarity(pred, want)
        except TooLongToCompare as exc:
            return Outcome(0.0, False, f"not scored: {exc}", pred, (R.TOO_LONG,))
        if score < self.opt.min_similarity:
            return Outcome(
                0.0, False, f"similarity {score:.3f} below {self.opt.min_similarity}", pred
            )
        return Outcome(score, False, f"edit similarity {score:.3f}", pred)
