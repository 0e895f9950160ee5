"""Small English helpers shared by the generators, so every domain phrases things the same way
(and the tokenizer corpus can enumerate every word they can produce)."""

from __future__ import annotations

NUMBER_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve",
)
HORIZONTAL: tuple[str, ...] = ("left", "center", "right")
VERTICAL: tuple[str, ...] = ("top", "middle", "bottom")


def number_word(n: int) -> str:
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def plural(noun: str, n: int = 2) -> str:
    return noun if n == 1 else noun + "s"


def counted(n: int, noun: str) -> str:
    """``three red squares`` / ``one blue circle``."""
    return f"{number_word(n)} {plural(noun, n)}"


def join_list(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def sentence(text: str) -> str:
    """Capitalise the first letter and end with a full stop."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def position_phrase(cx: float, cy: float) -> str:
    """Where a point (fractions of width/height) lies: ``at the top left``, ``in the center``."""
    h = HORIZONTAL[0 if cx < 0.4 else 2 if cx > 0.6 else 1]
    v = VERTICAL[0 if cy < 0.4 else 2 if cy > 0.6 else 1]
    if h == "center" and v == "middle":
        return "in the center"
    if v == "middle":
        return f"on the {h}"
    if h == "center":
        return f"at the {v}"
    return f"at the {v} {h}"


def box_position(box: tuple[int, int, int, int], size: int) -> str:
    """:func:`position_phrase` for a pixel box's centre."""
    return position_phrase((box[0] + box[2]) / 2 / size, (box[1] + box[3]) / 2 / size)


def all_position_phrases() -> list[str]:
    return sorted({position_phrase(x, y) for x in (0.1, 0.5, 0.9) for y in (0.1, 0.5, 0.9)})
