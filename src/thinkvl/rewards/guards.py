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
    r"give\s+or\s+take|plus\s+or\s+minus|not\s+sure|uncertain|unclear|"
    r"i\s+(?:think|guess|believe|suppose)|vs|versus"
)
# Prose (open answers) legitimately says "some", "or", "about": only value hedges count there.
_PROSE_WORDS = (
    r"between\s+[-+]?\d[\d.,]*\s+and|approximately|approx|roughly|close\s+to|closer\s+to|"
    r"nearly|maybe|perhaps|or\s+so|give\s+or\s+take|plus\s+or\s+minus|not\s+sure|uncertain"
)
_HEDGE_SYMBOLS = (
    r"|≈|≃|∼|±|∓|\+/-|\\(?:approx|sim|simeq|pm|mp)(?![a-z])"
    r"|(?:(?<=[\s(])|^)~(?=\s*\S)"  # "~5", "~Paris" (LaTeX's a~b spacing has no space before)
)
# Two answers offered at once (issue 20, finding 6): logical or, bars, "vs", set braces, cases,
# "a? b?", a word/word slash, and "or" in other languages. Checked in every mode: also prose
# domains, when the box is a short answer rather than prose (see _SHORT_ANSWER_WORDS).
_ALTERNATIVES = (
    r"\bor\b|\beither\b|\band/or\b|\bvs\b|\bversus\b|\\(?:lor|vee)(?![a-z])|∨|\|\|"
    r"|\\begin\{cases\}|\\\{[^{}]*,[^{}]*\\\}|\?"
    r"|(?<![\w/])(?=\w*[^\W\d_])\w{3,}\s*/\s*(?=\w*[^\W\d_])\w{3,}(?![\w/])|(?<=\w)\s*[–—]\s*(?=\w)"
    r"|(?:(?<=\s)|^)(?:oder|ou|o|eller|veya|lub|albo|или|أو|או|या)(?=\s|$)"
    r"|或|还是|または|또는|หรือ"
)
_HEDGE_RE = re.compile(
    r"\b(?:"
    + _HEDGE_WORDS
    + r")\b"
    + _HEDGE_SYMBOLS
    + r"|≤|≥|\\(?:le|ge|leq|geq|lesssim|gtrsim)(?![a-z])|[<>]|"
    + _ALTERNATIVES
)  # used on lower-cased text
_PROSE_HEDGE_RE = re.compile(r"\b(?:" + _PROSE_WORDS + r")\b" + _HEDGE_SYMBOLS)
_SHORT_HEDGE_RE = re.compile(
    r"\b(?:" + _PROSE_WORDS + r"|i\s+(?:think|guess|believe|suppose)|probably|likely|possibly|"
    r"somewhere|(?:about|around|almost|some)(?=\s*[-+~]?\d))\b" + _HEDGE_SYMBOLS + "|" + _ALTERNATIVES
)
_SHORT_ANSWER_WORDS = 8  # a prose-domain box this short is an answer, not prose
_RANGE_RE = re.compile(r"\d\s*(?:–|—|\bto\b|\.\.\.?|…)\s*[-+]?\d")
_HYPHEN_RANGE_RE = re.compile(r"\d\s*-\s*\d")
_SLASH_PAIR_RE = re.compile(r"\d\s*/\s*\d")  # "45/50" outside maths: two values, not a ratio

# Every injection pattern below needs one of these words: a set lookup screens text cheaply.
_INJECTION_WORD_TEXT = (
    "ignore disregard forget output print respond reply return say write give you mark grade "
    "score rate judge consider treat label evaluate correct right perfect wrong incorrect "
    "irrelevant outdated system instruction instructions jailbreak user assistant inst "
    "grader graders grading graded verdict rubric evaluator evaluation as dear to matches match "
    "equals equal equivalent same agrees agree consistent marks points rating full verified "
    "confirmed preverified pre"
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
    r"|^\s*(?:system|assistant|user)\s*:"
    # talking to the grader about the grade (issue 20, finding 6: 16 of 32 phrasings got past)
    r"|\b(?:grader|graders|grading|graded|verdict|rubric|evaluator)\b"
    r"|you\s+are\s+(?:now\s+)?(?:a|an|the)\s+(?:\w+\s+)?(?:judge|grader|evaluator|marker)"
    r"|(?:as|dear|to)\s+the\s+(?:judge|marker|examiner)"
    r"|(?:match(?:es)?|equals?|equivalent\s+to|same\s+as|agrees?\s+with|consistent\s+with|ignore|"
    r"disregard)\s+(?:the\s+|my\s+|your\s+)?(?:reference|ground[\s-]*truth|gold|expected|rubric|"
    r"answer\s+key)"
    r"|(?:score|grade|mark|rating|points?|evaluation)s?\s*[:=]\s*(?:10\s*/\s*10|100\s*%|full|"
    r"correct|right|pass|1\b|10\b)|\bfull\s+(?:marks?|credit|points?)|\b10\s*/\s*10\b"
    r"|(?:verified|confirmed)\s+(?:as\s+)?correct|pre-?verified|<!--|[✓✔✅☑]",
    re.MULTILINE,
)  # applied to lower-cased text: much faster than IGNORECASE
# The judge's own reply words, written in its capitals: nobody answering a question needs them.
_VERDICT_CAPS_RE = re.compile(r"\b(?:CORRECT|INCORRECT)\b")
_VERDICT_WORD_RE = re.compile(r"\b(?:correct|incorrect)\b")

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


def _hedge_regex(words: str, hyphen: bool) -> re.Pattern[str]:
    """One pass over the box: hedge words/symbols plus (named) numeric ranges."""
    ranges = f"(?P<range>{_RANGE_RE.pattern})"
    if hyphen:
        ranges += f"|(?P<hyphen>{_HYPHEN_RANGE_RE.pattern})|(?P<slash>{_SLASH_PAIR_RE.pattern})"
    return re.compile(f"{ranges}|{words}")


_MODES = {"full": _HEDGE_RE.pattern, "prose": _PROSE_HEDGE_RE.pattern,
          "short": _SHORT_HEDGE_RE.pattern}
_HEDGE_SCANS = {(m, h): _hedge_regex(w, h) for m, w in _MODES.items() for h in (False, True)}


def hedge_term(
    box: str, reference: str, hyphen_ranges: bool = True, prose: bool = False
) -> str | None:
    """The first hedge in ``box`` that the reference does not itself contain, else None.

    ``prose`` (open answers) only looks for value hedges (ranges, approximations, "maybe") in
    prose, but a short box there is an answer: alternatives ("a or b", "a/b", "a | b", "a vs
    b", "\\{a, b\\}", "a \\lor b", "a? b?", other languages' "or") count as in any domain.
    """
    ref = reference.lower()
    low = box.lower()
    mode = "full" if not prose else "short" if len(low.split()) <= _SHORT_ANSWER_WORDS else "prose"
    if "|" in low and not low.replace("\\|", "").count("|") % 2 == 0 and "|" not in ref:
        return "|"  # "6 | 5": a bar that does not close an absolute value
    for m in _HEDGE_SCANS[mode, hyphen_ranges].finditer(low):
        term = m.group(0)
        kind = m.lastgroup
        if kind in _RANGE_KINDS:
            if not _RANGE_KINDS[kind].search(ref):
                return term
            continue
        if _ref_has(ref, term) or (_is_list_word(term) and count_items(ref) > 1):
            continue  # the reference uses it, or lists several answers itself ("x=2, x=3")
        return term
    return None


_RANGE_KINDS = {"range": _RANGE_RE, "hyphen": _HYPHEN_RANGE_RE, "slash": _SLASH_PAIR_RE}
_RELATIONS = ("<", ">", "≤", "≥", "\\le", "\\ge", "\\lt", "\\gt")


def _is_list_word(term: str) -> bool:
    return _ALTERNATIVES_RE.fullmatch(term) is not None and term != "?"


_ALTERNATIVES_RE = re.compile(_ALTERNATIVES)


def _ref_has(ref: str, term: str) -> bool:
    if term in _RELATIONS or term in ("\\leq", "\\geq"):
        return any(r in ref for r in _RELATIONS)  # a flipped inequality is still an inequality
    if term.startswith("between"):
        term = "between"
    if "/" in term and term[0].isalpha():
        return "/" in ref  # "left/right": the reference writes alternatives with a slash too
    if term.startswith("\\{"):
        return "\\{" in ref
    if term[0].isalpha() and term.isascii():
        return re.search(r"\b" + re.escape(term) + r"\b", ref) is not None
    return term in ref


def injection_text(text: str, reference: str = "") -> str | None:
    """The first judge-injection phrase in ``text``, else None. Words the reference itself
    uses (a reference of "correct", an OCR text with a check mark) are not injections."""
    m = _VERDICT_CAPS_RE.search(text)
    if m and m.group(0) not in reference:
        return m.group(0)
    low = text.lower()
    if (
        _INJECTION_WORDS.isdisjoint(_ASCII_WORD_RE.findall(low))
        and "answer with" not in low
        and "<!--" not in low
        and not _CHECKMARKS.intersection(low)
    ):
        return None  # cheap screen first
    ref = reference.lower()
    for m in _INJECTION_RE.finditer(low):
        hit = m.group(0).strip()
        if not hit or hit not in ref:
            return hit or m.group(0)
    return None


_CHECKMARKS = frozenset("✓✔✅☑")


def verdict_word(box: str, reference: str) -> str | None:
    """A short box that says "correct" (or "incorrect") when the reference does not: a grade,
    not an answer (the lead text may say "the correct answer is …"; the box may not)."""
    if len(box.split()) > _SHORT_ANSWER_WORDS:
        return None
    m = _VERDICT_WORD_RE.search(box.lower())
    return m.group(0) if m and not _VERDICT_WORD_RE.search(reference.lower()) else None


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
            hit = injection_text(answer_block, reference) or verdict_word(box, reference)
            if hit:
                return R.INJECTION, f"judge-injection text in the answer: {hit[:60]!r}"
        if cfg.restate_question and restates_question(box, question, reference):
            return R.RESTATED_QUESTION, "the box restates the question"  # before "?" as a hedge
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
        return None
