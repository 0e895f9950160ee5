"""Shared extraction and normalisation helpers for box contents (pure string work, no sympy).

Every helper returns None (never raises) when the text is not of the expected shape, so a
verifier can say "unparsable" instead of guessing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_LATEX_WRAP_RE = re.compile(
    r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}"
)
_DOLLAR_RE = re.compile(r"^\s*(?:\$\$|\$|\\\(|\\\[)(.*?)(?:\$\$|\$|\\\)|\\\])\s*$", re.DOTALL)

NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
}

# One number as people write it: sign, thousands separators, decimals, exponent, percent.
_NUM_CORE = r"[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d{1,3})?"
_PLAIN_NUMBER_RE = re.compile(r"^\s*(?:[$€£¥]\s*)?(" + _NUM_CORE + r")\s*(\\?%|percent)?\s*$")
NUMBER_TOKEN_RE = re.compile(r"(?<![\w.])[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d])")
_TIMES_TEN_RE = re.compile(
    r"^\s*("
    + _NUM_CORE
    + r")\s*(?:\\times|\\cdot|×|\*|x)\s*10\s*\^\s*\{?\s*([-+]?\d{1,3})\s*\}?\s*$"
)


def unwrap_latex(text: str) -> str:
    """Drop math delimiters and text wrappers (``$5$``, ``\\text{left}`` → ``5``, ``left``)."""
    m = _DOLLAR_RE.match(text)
    if m:
        text = m.group(1)
    if "\\" in text:
        for _ in range(3):
            new = _LATEX_WRAP_RE.sub(r"\1", text)
            if new == text:
                break
            text = new
    return text.strip()


def parse_number(text: str) -> tuple[float, bool] | None:
    """A single plain number (``1,234.5``, ``-3``, ``45%``, ``$12``, ``1.2e3``, ``3\\times10^{4}``).

    Returns (value, is_percent) or None when the text is anything else.
    """
    if len(text) > 64:
        return None
    m = _PLAIN_NUMBER_RE.match(text)
    if m:
        core = m.group(1)
        if not any(c.isdigit() for c in core):
            return None
        try:
            value = float(core.replace(",", "").replace("\u2212", "-"))
        except ValueError:
            return None
        return value, bool(m.group(2))
    m = _TIMES_TEN_RE.match(text)
    if m and any(c.isdigit() for c in m.group(1)):
        try:
            return float(m.group(1).replace(",", "")) * 10.0 ** int(m.group(2)), False
        except (ValueError, OverflowError):
            return None
    return None


def number_of(text: str) -> tuple[float, bool] | None:
    """One number with optional unit words ("45 %", "$1,200", "3 cars"); None if not exactly one."""
    text = unwrap_latex(text)
    got = parse_number(text)
    if got is not None:
        return got
    tokens = find_numbers(text)
    if len(tokens) != 1:
        return None
    rest = text.replace(tokens[0], " ", 1)
    if any(c.isdigit() for c in rest):
        return None
    value = to_float(tokens[0])
    return None if value is None else (value, "%" in rest or "percent" in rest.lower())


def find_numbers(text: str) -> list[str]:
    """All number tokens in ``text`` (thousands separators kept)."""
    return NUMBER_TOKEN_RE.findall(text)


def to_float(token: str) -> float | None:
    try:
        return float(token.replace(",", "").replace("\u2212", "-"))
    except ValueError:
        return None


def close(a: float, b: float, rel_tol: float, abs_tol: float = 1e-9) -> bool:
    """Relative closeness that treats 0 sensibly."""
    return abs(a - b) <= max(rel_tol * max(abs(a), abs(b)), abs_tol)


_PUNCT_TABLE = {ord(c): " " for c in "!\"#&'()*,:;<=>?@[\\]^_`{|}~"}
_ARTICLES = frozenset({"a", "an", "the"})


@lru_cache(maxsize=65536)
def normalize_answer(text: str) -> str:
    """Loose normalisation for short text answers: case, punctuation, articles, number words."""
    text = unicodedata.normalize("NFKC", unwrap_latex(text)).lower().translate(_PUNCT_TABLE)
    words = []
    for word in text.split():
        word = word.strip(".")
        if not word or word in _ARTICLES:
            continue
        if word in NUMBER_WORDS:
            word = str(NUMBER_WORDS[word])
        elif word.replace(",", "").replace(".", "", 1).lstrip("-").isdigit():
            value = to_float(word)
            if value is not None and value == int(value) and abs(value) < 1e15:
                word = str(int(value))
        words.append(word)
    return " ".join(words)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance; common prefix/suffix are trimmed first, so near-misses are cheap."""
    if a == b:
        return 0
    start = 0
    limit = min(len(a), len(b))
    while start < limit and a[start] == b[start]:
        start += 1
    end = 0
    while end < limit - start and a[-1 - end] == b[-1 - end]:
        end += 1
    a = a[start : len(a) - end]
    b = b[start : len(b) - end]
    if not a or not b:
        return len(a) + len(b)
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def similarity(a: str, b: str) -> float:
    """1 - edit_distance / max(len): 1.0 for identical strings, 0.0 when nothing is shared."""
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    return 1.0 - edit_distance(a, b) / longest


_BOX4_RE = re.compile(
    r"[\[(]\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,"
    r"\s*(-?\d+(?:\.\d+)?)\s*[\])]"
)


def parse_boxes(text: str) -> list[list[float]]:
    """Every ``[x1, y1, x2, y2]`` (or ``(…)``) group in ``text``, in order."""
    return [[float(v) for v in m] for m in _BOX4_RE.findall(text)]


def valid_box(box: list[float], limit: float = 1000.0) -> bool:
    """Inside the 0–limit grid with positive width and height."""
    x1, y1, x2, y2 = box
    return 0 <= x1 < x2 <= limit and 0 <= y1 < y2 <= limit
