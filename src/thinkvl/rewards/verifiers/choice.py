"""Multiple choice: exactly one option letter. Listing several options scores 0.

Accepted spellings: ``B``, ``(B)``, ``B.``, ``B) text``, ``Option B``, ``\\text{B}``, or the text of
exactly one option when ``meta["options"]`` gives them.
"""

from __future__ import annotations

import re
import string
from typing import Any

from .. import result as R
from ..extract import normalize_answer, unwrap_latex
from ..result import Outcome
from .base import Ctx, Verifier, describe, reference_text, register

_PREFIX_RE = re.compile(
    r"^(?:the\s+)?(?:correct\s+|final\s+)?(?:answer|option|choice)(?:\s+is)?\s*[:：]?\s*",
    re.IGNORECASE,
)
_ONE_RE = re.compile(r"^\(?([A-Z])\)?(?:\s*[.:)\]]\s*|\s+|$)(.*)$", re.DOTALL)
_MANY_RE = re.compile(
    r"^\(?[A-Z]\)?(?:\s*(?:,|;|/|&|\band\b|\bor\b|\s)\s*\(?[A-Z]\)?)+\.?$", re.IGNORECASE
)


_MARKED_LETTER_RE = re.compile(r"[(\[]\s*([A-Z])\s*[)\]]|(?<![A-Za-z])([A-Z])\)")


def options_of(meta: dict[str, Any]) -> dict[str, str]:
    """``meta["options"]`` as {letter: text}; a list is lettered A, B, C …"""
    opts = meta.get("options") if isinstance(meta, dict) else None
    if isinstance(opts, dict):
        return {str(k).strip().upper(): str(v) for k, v in opts.items()}
    if isinstance(opts, (list, tuple)):
        return {string.ascii_uppercase[i]: str(v) for i, v in enumerate(opts[:26])}
    return {}


def extract_letter(box: str, options: dict[str, str]) -> tuple[str | None, str]:
    """(letter, "") or (None, why)."""
    if len(box) == 1 and "A" <= box <= "Z" and (not options or box in options):
        return box, ""  # the common case, without regexes
    text = _PREFIX_RE.sub("", unwrap_latex(box).strip().strip("*`'\"")).strip()
    if len(text) == 3 and text[0] in "[{" and text[2] in "]}":
        text = text[1]  # "[B]", "{B}"
    if len(text) == 1 and text.isalpha():
        text = text.upper()
    valid = set(options) or set(string.ascii_uppercase)
    if _MANY_RE.match(text) and len(set(re.findall(r"[A-Za-z]", text))) > 1:
        return None, "several options listed"
    m = _ONE_RE.match(text)
    if m and m.group(1) in valid:
        letter, rest = m.group(1), m.group(2).strip().rstrip(".")
        marked = {a or b for a, b in _MARKED_LETTER_RE.findall(rest)}
        others = {x for x in marked if x in valid and x != letter}
        if others and (not options or _match_option(rest, options) is None):
            return None, "several options listed"  # "(B)(C)", "B (C)": read as B before
        if rest and options:
            other = _match_option(rest, options)
            if other is not None and other != letter:
                return None, f"letter {letter} but the text of option {other}"
        return letter, ""
    if options:
        letter = _match_option(text, options)
        if letter is not None:
            return letter, ""
    return None, "no single option letter"


def _match_option(text: str, options: dict[str, str]) -> str | None:
    norm = normalize_answer(text)
    hits = [k for k, v in options.items() if norm and normalize_answer(v) == norm]
    return hits[0] if len(hits) == 1 else None


@register
class ChoiceVerifier(Verifier):
    name = "choice"

    def check(self, box: str, gold: Any, ctx: Ctx) -> Outcome:
        options = options_of(ctx.meta)
        want, _ = extract_letter(reference_text(gold), options) if gold is not None else (None, "")
        if want is None:
            return Outcome(
                0.0, False, f"reference {describe(gold)} is not an option letter", None, (R.NO_REFERENCE,)
            )
        got, why = extract_letter(box, options)
        if got is None:
            flag = R.MULTIPLE_ANSWERS if why.startswith("several") or "but" in why else R.UNPARSABLE
            return Outcome(0.0, False, why, None, (flag,))
        return self.verdict(got == want, f"option {got} vs reference {want}", got)
