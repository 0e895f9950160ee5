"""Rule-based answer extraction from free answer text (no box), per answer type.

These rules run after the box and before the LLM parser. Each returns one answer or None
("not settled"), never a guess: a None sends the response to the LLM parser (when configured)
or counts it as invalid. Free text is never handed to the verifiers as is — a sentence such as
"There were 3 boxes with 2 each, so 6." is an answer *statement*, not an answer, and the reward
guards (length, hedges, lists) would rightly reject it. The rules therefore pull out the
committed value: an "answer is X" phrase, the tail after a conclusion word ("so 6",
"therefore 45 N"), or a short whole answer; anything longer goes to the parser.

Every function is linear in the text (model output is untrusted).
"""

from __future__ import annotations

import re

from thinkvl.eval.benchmarks.base import LETTERS

_PHRASE_RE = re.compile(
    r"(?:final\s+answer|the\s+answer|answer|correct\s+(?:option|choice|answer)|option|choice|"
    r"the\s+(?:final\s+)?result|the\s+(?:final\s+)?value)"
    r"\s*(?:is\b|would\s+be|should\s+be|[:：=])\s*[:：]?\s*", re.IGNORECASE)
_CONCLUDE_RE = re.compile(r"(?:^|[\s,;(])(?:so|therefore|thus|hence|which\s+gives|giving)"
                          r"[\s,:]+|=\s*", re.IGNORECASE)
NUMBER_RE = re.compile(r"(?<![\w.])[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])")
_NUM = r"\s*(-?\d+(?:\.\d+)?)\s*"
BOX4_RE = re.compile(r"[\[(]" + ",".join([_NUM] * 4) + r"[\])]")
POINT_RE = re.compile(r"[\[(]\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*[\])]")
_ACTION_RE = re.compile(
    r"\b(?:click|double_click|right_click|long_press|hover|type|scroll|press|open|answer)\s*"
    r"(?:\[[^\]]*\]|\([^)]*\))(?:\s*[\"'][^\"']*[\"'])?", re.IGNORECASE)
_JSON_OBJ_RE = re.compile(r"\{[^{}]*\"action(?:_type)?\"[^{}]*\}")
_YESNO_RE = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
SHORT_WORDS = 8  # a whole answer of at most this many words is taken as the answer itself
PHRASE_WORDS = 16  # an "answer is X" phrase longer than this is a sentence, not an answer


def norm(text: str) -> str:
    # rstrip, not a "[\s.]+$" regex: that one is quadratic in a long run of dots
    return re.sub(r"\s+", " ", text.strip().lower()).rstrip(" .。")


def _clean(text: str) -> str:
    return text.strip().strip("*_`\"' ").rstrip(".。").strip()


def phrases(region: str) -> list[str]:
    """Candidates stated as "the answer is X" (each up to the end of its line)."""
    out = []
    for line in region.splitlines():
        starts = list(_PHRASE_RE.finditer(line))
        for m, nxt in zip(starts, starts[1:] + [None]):
            cand = _clean(line[m.end():nxt.start() if nxt else len(line)])
            if cand:
                out.append(cand)
    return out


def _last_sentence(region: str) -> str:
    lines = [ln for ln in region.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    parts = re.split(r"(?<=[.!?。])\s+(?=[A-Z])", last.strip())
    return parts[-1] if parts else last


def conclusion(region: str) -> str | None:
    """The tail after the last conclusion word of the final sentence ("…, so 6." → "6")."""
    last = _last_sentence(region)
    marks = list(_CONCLUDE_RE.finditer(last))
    if not marks:
        return None
    tail = _clean(last[marks[-1].end():])
    return tail or None


def agree(values: list[str | None]) -> str | None:
    """The one value all non-None candidates agree on, else None (conflicting answers)."""
    found = {v for v in values if v}
    return found.pop() if len(found) == 1 else None


def letter(text: str, options: dict[str, str], strict: bool) -> str | None:
    """One option letter from ``text``: ``C``, ``(C)``, ``C.``/``C)`` + text, or an option's text.
    ``strict`` (whole answers) refuses a bare leading capital like the article in "A cat…"."""
    valid = set(options) or set(LETTERS[:10])
    t = _clean(text)
    m = re.fullmatch(r"\(?([A-Z])\)?", t)
    if m and m.group(1) in valid:
        return m.group(1)
    loose = "" if strict else r"|^([A-Z])(?:\s|,|$)"
    m = re.match(r"^\(([A-Z])\)|^([A-Z])[.):](?:\s|$)" + loose, t)
    if m:
        got = next(g for g in m.groups() if g)
        if got in valid:
            return got
    hits = [k for k, v in options.items() if norm(v) and norm(v) == norm(t)]
    return hits[0] if len(hits) == 1 else None


def parse_choice(region: str, options: dict[str, str]) -> str | None:
    found = phrases(region)
    if found:
        return agree([letter(p, options, strict=False) for p in found])
    return letter(region, options, strict=True)


def _one_number(text: str) -> str | None:
    nums = NUMBER_RE.findall(text)
    return nums[0] if nums and len(set(nums)) == 1 else None


def parse_number(region: str) -> str | None:
    """The stated number: from the last "answer is" phrase, else after the final conclusion
    word, else the only number of the answer. Two different numbers settle nothing."""
    found = phrases(region)
    if found:
        return _one_number(found[-1])
    tail = conclusion(region)
    if tail is not None and (got := _one_number(tail)):
        return got
    return _one_number(region)


def _short(text: str, words: int) -> bool:
    return "\n" not in text.strip() and len(text.split()) <= words


def parse_text(region: str) -> str | None:
    """A short free-text answer: an "answer is X" phrase, the tail after "so/therefore", or
    the whole answer when it is short; a longer statement is left to the LLM parser."""
    found = phrases(region)
    if found:
        cand = found[-1]
        return cand if _short(cand, PHRASE_WORDS) else None
    whole = _clean(region)
    if whole and _short(whole, SHORT_WORDS) and not re.search(r"[.!?]\s+\S", whole):
        return whole
    tail = conclusion(region)
    if tail is not None and _short(tail, SHORT_WORDS):
        return tail
    return None


def parse_yesno(region: str) -> str | None:
    """"Yes" or "No": stated in a phrase or opening the answer, else the only one used."""
    for cand in phrases(region)[-1:] + [region.strip()]:
        m = re.match(r"\W*(yes|no)\b", cand, re.IGNORECASE)
        if m:
            return m.group(1).capitalize()
    words = {w.lower() for w in _YESNO_RE.findall(region)}
    return words.pop().capitalize() if len(words) == 1 else None


def parse_boxes(region: str) -> str | None:
    boxes = ["[" + ", ".join(m) + "]" for m in BOX4_RE.findall(region)]
    if not boxes:
        return None
    return boxes[0] if len(set(boxes)) == 1 else "[" + ", ".join(boxes) + "]"


def parse_point(region: str) -> str | None:
    """One point ``[x, y]`` (or one box, whose centre a point metric takes)."""
    boxes = {m for m in BOX4_RE.findall(region)}
    if len(boxes) == 1:
        return "[" + ", ".join(boxes.pop()) + "]"
    if boxes:
        return None
    points = {m for m in POINT_RE.findall(region)}
    return "[" + ", ".join(points.pop()) + "]" if len(points) == 1 else None


def parse_action(region: str) -> str | None:
    found = _JSON_OBJ_RE.findall(region) or _ACTION_RE.findall(region)
    return found[0].strip() if len(set(found)) == 1 else None


MAX_WHOLE = 1000  # characters a transcription (OCR) answer may have to be taken whole


def parse_whole(region: str) -> str | None:
    """A transcription is the whole answer text (OCR): it is compared by similarity, so a long
    one is not a statement to cut down; beyond :data:`MAX_WHOLE` it is not an answer."""
    text = region.strip()
    return text if text and len(text) <= MAX_WHOLE else None


PARSERS = {"number": parse_number, "text": parse_text, "yesno": parse_yesno, "whole": parse_whole,
           "grounding": parse_boxes, "point": parse_point, "gui": parse_action}


def rule_parse(kind: str, region: str, options: dict[str, str] | None = None) -> str | None:
    """A prediction from free answer text by the rules of ``kind``, or None when not settled."""
    region = region.strip()
    if not region:
        return None
    if kind == "choice":
        return parse_choice(region, options or {})
    try:
        return PARSERS[kind](region)
    except KeyError:
        raise ValueError(f"unknown answer kind {kind!r}; expected choice, "
                         f"{', '.join(PARSERS)}") from None
