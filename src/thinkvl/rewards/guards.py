"""Detectors that stop reward hacking before a verifier or judge sees the answer.

The GLM-4.1V report's lesson: a single hackable verifier derails every domain. A judge can be
talked into "a number between 1 and 10" or "very close to the speed of light", so hedges,
injections, restated questions, foreign-script padding and oversized answers are rejected by
rules first. A hedge word is allowed when the reference itself uses it (``x \\le 3``, "or").
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import lru_cache

from . import result as R
from .config import GuardConfig, PenaltyConfig

_HEDGE_WORDS = (
    r"between|approximately|approx|about|around|roughly|nearly|almost|close\s+to|closer\s+to|"
    r"maybe|perhaps|probably|likely|possibly|either|or|and/or|at\s+least|at\s+most|"
    r"more\s+than|less\s+than|fewer\s+than|greater\s+than|up\s+to|somewhere|range|ranging|"
    r"estimated?|guess|some|several|a\s+few|many|various|multiple|any|etc|or\s+so|"
    r"give\s+or\s+take|plus\s+or\s+minus|not\s+sure|uncertain|unclear"
)
# Prose (open answers) legitimately says "some", "or", "about": only value hedges count there.
_PROSE_WORDS = (
    r"between\s+[-+]?\d[\d.,]*\s+and|approximately|approx|roughly|close\s+to|closer\s+to|"
    r"nearly|maybe|perhaps|or\s+so|give\s+or\s+take|plus\s+or\s+minus|not\s+sure|uncertain"
)
_HEDGE_SYMBOLS = (
    r"|≈|≃|∼|±|∓|\+/-|\\(?:approx|sim|simeq|pm|mp)(?![a-z])"
    r"|(?:(?<=\s)|^)~(?=\s*\d)"
)
_HEDGE_RE = re.compile(
    r"\b(?:"
    + _HEDGE_WORDS
    + r")\b"
    + _HEDGE_SYMBOLS
    + r"|≤|≥|\\(?:le|ge|leq|geq|lesssim|gtrsim)(?![a-z])|[<>]"
)  # used on lower-cased text
_PROSE_HEDGE_RE = re.compile(r"\b(?:" + _PROSE_WORDS + r")\b" + _HEDGE_SYMBOLS)
_RANGE_RE = re.compile(r"\d\s*(?:–|—|\bto\b|\.\.\.?|…)\s*[-+]?\d")
_HYPHEN_RANGE_RE = re.compile(r"\d\s*-\s*\d")

# Every injection pattern below needs one of these words: a set lookup screens text cheaply.
_INJECTION_WORD_TEXT = (
    "ignore disregard forget output print respond reply return say write give you mark grade "
    "score rate judge consider treat label evaluate correct right perfect wrong incorrect "
    "irrelevant outdated system instruction instructions jailbreak user assistant inst"
)
_INJECTION_WORDS = frozenset(_INJECTION_WORD_TEXT.split())
_ASCII_WORD_RE = re.compile(r"[a-z]+")
_INJECTION_RE = re.compile(
    r"ignore\s+(?:(?:all|any|the|previous|prior|above|earlier|your|these|those|other)\s+)*"
    r"(?:instructions?|prompts?|rules?|guidelines?|directions?|context)"
    r"|disregard\s+(?:all|any|the|previous|prior|above|your)"
    r"|forget\s+(?:all|any|the|previous|prior|above|your)\s+(?:instructions?|rules?)"
    r"|(?:output|print|respond\s+with|reply\s+with|answer\s+with|return|say|write|give)\s*"
    r"[:\-]?\s*[\"'`]?(?:1|1\.0|10|100|correct|yes|true|pass|full\s+marks?)[\"'`]?\s*(?:[.!]|$)"
    r"|you\s+are\s+(?:now\s+)?(?:a|an|the)\s+(?:judge|grader|evaluator|assistant|ai|model)"
    r"|(?:mark|grade|score|rate|judge|consider|treat|label|evaluate)\s+(?:this|it|the|my)\s+"
    r"(?:(?:answer|response|prediction|candidate|output)\s+)?(?:as\s+)?"
    r"(?:correct|right|true|full|perfect|1|10)"
    r"|(?:this|the|my)\s+(?:answer|response|prediction)\s+is\s+(?:correct|right|perfect)"
    r"|(?:reference|ground[\s-]*truth|gold|expected)\s+(?:answer\s+)?is\s+"
    r"(?:wrong|incorrect|irrelevant|outdated)"
    r"|system\s*prompt|new\s+instructions?|jailbreak|<\|im_(?:start|end)\|>"
    r"|<\|(?:system|user|assistant)\|>|\[/?inst\]|</?(?:system|user|assistant)>"
    r"|^\s*(?:system|assistant|user)\s*:",
    re.MULTILINE,
)  # applied to lower-cased text: much faster than IGNORECASE

_SCRIPTS = {
    "han": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff",
    "kana": "\u3040-\u30ff",
    "hangul": "\u1100-\u11ff\uac00-\ud7af",
    "cyrillic": "\u0400-\u04ff",
    "arabic": "\u0600-\u06ff",
    "hebrew": "\u0590-\u05ff",
    "devanagari": "\u0900-\u097f",
    "thai": "\u0e00-\u0e7f",
}
_SCRIPT_RES = {name: re.compile(f"[{chars}]") for name, chars in _SCRIPTS.items()}
_NONLATIN_RE = re.compile("[" + "".join(_SCRIPTS.values()) + "]")
_LATIN_RE = re.compile(r"[A-Za-z]")
_MARKER_RE = re.compile(r"</?(?:think|answer)>|<\|(?:begin|end)_of_box\|>")
_TOKEN_RE = re.compile(r"\w+")
_TEXT_WRAP_RE = re.compile(r"\\(?:text|textrm|mathrm|mbox)\s*\{([^{}]*)\}")
_LIST_TOKEN_RE = re.compile(r"\\[{}]|[()\[\]{}]|,(?!\d{3}\b)|;|\n|\band\b|\bor\b", re.IGNORECASE)


def _hedge_regex(prose: bool, hyphen: bool) -> re.Pattern[str]:
    """One pass over the box: hedge words/symbols plus (named) numeric ranges."""
    words = _PROSE_HEDGE_RE.pattern if prose else _HEDGE_RE.pattern
    ranges = f"(?P<range>{_RANGE_RE.pattern})"
    if hyphen:
        ranges += f"|(?P<hyphen>{_HYPHEN_RANGE_RE.pattern})"
    return re.compile(f"{ranges}|{words}")


_HEDGE_SCANS = {(p, h): _hedge_regex(p, h) for p in (False, True) for h in (False, True)}


def hedge_term(
    box: str, reference: str, hyphen_ranges: bool = True, prose: bool = False
) -> str | None:
    """The first hedge in ``box`` that the reference does not itself contain, else None.

    ``prose`` (open answers) only looks for value hedges: ranges, approximations, "maybe".
    """
    ref = reference.lower()
    for m in _HEDGE_SCANS[prose, hyphen_ranges].finditer(box.lower()):
        term = m.group(0)
        kind = m.lastgroup
        if kind == "range" or kind == "hyphen":
            if not (_RANGE_RE if kind == "range" else _HYPHEN_RANGE_RE).search(ref):
                return term
            continue
        if _ref_has(ref, term) or (term in _LIST_WORDS and count_items(ref) > 1):
            continue  # the reference uses it, or lists several answers itself ("x=2, x=3")
        return term
    return None


_LIST_WORDS = ("or", "either", "and/or")
_RELATIONS = ("<", ">", "≤", "≥", "\\le", "\\ge", "\\lt", "\\gt")


def _ref_has(ref: str, term: str) -> bool:
    if term in _RELATIONS or term in ("\\leq", "\\geq"):
        return any(r in ref for r in _RELATIONS)  # a flipped inequality is still an inequality
    if term.startswith("between"):
        term = "between"
    if term[0].isalpha():
        return re.search(r"\b" + re.escape(term) + r"\b", ref) is not None
    return term in ref


def injection_text(text: str) -> str | None:
    """The first judge-injection phrase in ``text``, else None."""
    low = text.lower()
    if _INJECTION_WORDS.isdisjoint(_ASCII_WORD_RE.findall(low)) and "answer with" not in low:
        return None  # cheap screen first
    m = _INJECTION_RE.search(low)
    return m.group(0).strip() if m else None


def scripts_in(text: str) -> set[str]:
    """Non-Latin scripts present in ``text`` (empty for Latin/ASCII/maths)."""
    if text.isascii() or not _NONLATIN_RE.search(text):
        return set()
    return {name for name, rx in _SCRIPT_RES.items() if rx.search(text)}


def _script_counts(text: str) -> dict[str, int]:
    return {name: len(rx.findall(text)) for name, rx in _SCRIPT_RES.items()}


def allowed_scripts(response: str, question: str | None, reference: str) -> set[str] | None:
    """Scripts the response may use besides Latin; None means "no non-Latin text at all"."""
    if response.isascii() or not _NONLATIN_RE.search(response):
        return None
    allowed = scripts_in(reference)
    if question:
        return allowed | scripts_in(question)
    counts = _script_counts(response)
    top = max(counts, key=counts.__getitem__)
    if counts[top] > len(_LATIN_RE.findall(_MARKER_RE.sub(" ", response))):
        allowed.add(top)  # a response written in that language, with Latin for maths/names
    return allowed


def foreign_chars(text: str, allowed: set[str]) -> int:
    """How many letters of ``text`` belong to scripts outside ``allowed``."""
    if text.isascii() or not _NONLATIN_RE.search(text):
        return 0
    return sum(n for name, n in _script_counts(text).items() if name not in allowed)


def restates_question(box: str, question: str | None, reference: str) -> bool:
    """True when the box only repeats the question (math-verify would pull "3+8" out of
    "What is 3+8?"; a judge may read an echo as agreement). Adding any word of one's own — the
    answer — clears it, and short extractive answers are never checked."""
    if not question:
        return False
    btoks = _TOKEN_RE.findall(box.lower())
    if len(btoks) < 4:
        return False
    qtoks = _TOKEN_RE.findall(question.lower())[:200]
    if not set(btoks) <= set(qtoks):
        return False
    run = _longest_common_run(btoks[:400], qtoks)
    if run < max(4, int(0.6 * len(qtoks) + 0.999)):
        return False
    return _longest_common_run(btoks[:400], _TOKEN_RE.findall(reference.lower())[:400]) < run


def _longest_common_run(a: list[str], b: list[str]) -> int:
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def count_items(text: str, max_words: int | None = None) -> int:
    """Top-level items of a listed answer ("red, green and blue" → 3; "(1, 2)" → 1).

    Splits at depth 0 on commas (not thousands separators), semicolons, newlines, "and", "or".
    With ``max_words``, text with any longer item is prose, not a list: it counts as 1.
    """
    if not _LIST_TOKEN_RE.search(text):
        return 1
    if "\\" in text:
        text = _TEXT_WRAP_RE.sub(r" \1 ", text)  # "x=1 \text{ or } x=2": the or is top level
    depth = 0
    pieces = []
    start = 0
    for m in _LIST_TOKEN_RE.finditer(text):
        tok = m.group(0)
        if tok in "([{" or tok == "\\{":
            depth += 1
        elif tok in ")]}" or tok == "\\}":
            depth = max(0, depth - 1)
        elif depth == 0:
            pieces.append(text[start : m.start()])
            start = m.end()
    pieces.append(text[start:])
    items = [p for p in pieces if p.strip(" .\t")]
    if max_words is not None and any(len(p.split()) > max_words for p in items):
        return 1
    return len(items)


@lru_cache(maxsize=8192)
def _reference_items(reference: str) -> int:
    return count_items(reference)  # references repeat across a group's rollouts: cache


def repetitive(text: str, cfg: PenaltyConfig) -> bool:
    """A degenerate loop: the text's tail (where loops run until truncation) barely compresses."""
    if len(text) < cfg.repetition_min_chars:
        return False
    tail = text[-1000:].encode("utf-8", "replace")
    return len(zlib.compress(tail, 1)) / len(tail) < cfg.repetition_max_ratio


@dataclass(frozen=True, slots=True)
class BoxGuards:
    """The enabled box-level guards of one domain, run in a fixed order."""

    cfg: GuardConfig

    def check(
        self,
        box: str,
        answer_block: str,
        reference: str,
        question: str | None,
        allowed: set[str] | None,
    ) -> tuple[str, str] | None:
        """(flag, reason) for the first guard that rejects the box, else None."""
        cfg = self.cfg
        limit = cfg.max_box_chars
        if cfg.max_len_ratio is not None and reference:
            limit = min(limit, int(cfg.max_len_ratio * len(reference)) + 32)
        if len(box) > limit:
            return R.TOO_LONG, f"box has {len(box)} characters, more than the {limit} allowed"
        if cfg.injection:
            hit = injection_text(answer_block)
            if hit:
                return R.INJECTION, f"judge-injection text in the answer: {hit[:60]!r}"
        if cfg.hedge:
            hit = hedge_term(box, reference, cfg.hyphen_ranges, cfg.hedge_prose)
            if hit:
                return R.HEDGED, f"hedged answer ({hit!r} is not in the reference)"
        if cfg.language and allowed is not None and foreign_chars(box, allowed):
            return (
                R.LANGUAGE_MIX,
                "the box contains a script that neither question nor reference uses",
            )
        if cfg.multiple_answers and count_items(box, cfg.list_item_max_words) > max(
            1, _reference_items(reference)
        ):
            return R.MULTIPLE_ANSWERS, "the box lists more answers than the reference has"
        if cfg.restate_question and restates_question(box, question, reference):
            return R.RESTATED_QUESTION, "the box restates the question"
        return None
