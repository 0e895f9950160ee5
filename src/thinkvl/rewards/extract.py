"""Shared extraction and normalisation helpers for box contents (pure string work, no sympy).

Every helper returns None (never raises) when the text is not of the expected shape, so a
verifier can say "unparsable" instead of guessing.
"""

from __future__ import annotations

import math
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
    """Relative closeness that treats 0 sensibly. Infinities and NaN are close to nothing: with
    a relative tolerance, inf - 45 <= 0.05 * inf held, so a box of "1e999" matched any number."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
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


# Past this many DP cells (len(a) * len(b) after trimming) a comparison is refused: ~0.3 s of
# bit-parallel work on one core. Boxes are capped by the guards (1,000 characters by default),
# so only a huge reference meets a huge box here.
MAX_EDIT_CELLS = 2_000_000_000


class TooLongToCompare(ValueError):
    """Both strings are too long for an edit distance within the time a reward may take."""


def edit_distance(a: str, b: str, max_cells: int = MAX_EDIT_CELLS) -> int:
    """Levenshtein distance in O(len(a) * len(b) / 64) word operations.

    Why not the textbook DP: it is O(n·m) Python steps, and a 999-character box against a
    20,000-character reference took 19.5 s (200,000 characters: 165 s). This is the
    bit-parallel algorithm of Myers (1999) in Hyyrö's formulation for edit distance: one pass
    over the shorter string, each step a handful of operations on Python integers holding one
    bit per character of the longer one. Common prefix and suffix are trimmed first; pairs
    still over ``max_cells`` raise :class:`TooLongToCompare`.
    """
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
    if len(a) * len(b) > max_cells:
        raise TooLongToCompare(
            f"{len(a)} x {len(b)} characters are too many to compare (limit {max_cells:,} cells)"
        )
    if len(a) < len(b):
        a, b = b, a  # a: the longer string, one bit per character; b: iterated
    return _myers(a, b)


def _char_masks(a: str, wanted: set[str]) -> dict[str, int]:
    """For each character of ``wanted``, the int with bit i set where ``a[i]`` is it."""
    where: dict[str, list[int]] = {}
    for i, c in enumerate(a):
        if c in wanted:
            where.setdefault(c, []).append(i)
    size = (len(a) + 8) // 8
    masks = {}
    for c, positions in where.items():
        bits = bytearray(size)
        for p in positions:
            bits[p >> 3] |= 1 << (p & 7)
        masks[c] = int.from_bytes(bits, "little")
    return masks


def _myers(a: str, b: str) -> int:
    m = len(a)
    full = (1 << m) - 1
    top = 1 << (m - 1)
    peq = _char_masks(a, set(b))
    vp, vn, dist = full, 0, m
    for c in b:
        eq = peq.get(c, 0)
        x = eq | vn
        d0 = ((((x & vp) + vp) ^ vp) | x) & full
        hp = (vn | ~(d0 | vp)) & full
        hn = vp & d0
        if hp & top:
            dist += 1
        elif hn & top:
            dist -= 1
        x = ((hp << 1) | 1) & full
        vn = x & d0
        vp = ((hn << 1) | ~(x | d0)) & full
    return dist


def similarity(a: str, b: str, max_cells: int = MAX_EDIT_CELLS) -> float:
    """1 - edit_distance / max(len): 1.0 for identical strings, 0.0 when nothing is shared.
    Raises :class:`TooLongToCompare` for pairs past ``max_cells``."""
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    return 1.0 - edit_distance(a, b, max_cells) / longest


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
