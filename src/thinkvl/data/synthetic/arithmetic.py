"""Math (domain name ``math``): an arithmetic problem rendered in the image.

The text prompt is always "Solve the problem in the image.", so the problem must be read from the
pixels. ``x`` is multiplication (the default font has no ×). Level 1 is one-digit addition or
subtraction; level 4 has two operations with precedence or parentheses. Results are never
negative. The reasoning writes out each step in evaluation order.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from .draw import ALIGNED_LEVELS, CELLS, canvas, draw_cells, place_text
from .sample import Sample

QUESTION = "Solve the problem in the image."
Problem = tuple[str, int, list[str]]  # (expression, value, steps)


def _add(rng: random.Random) -> Problem:
    a, b = rng.randint(1, 9), rng.randint(1, 9)
    return f"{a}+{b}", a + b, [f"{a}+{b} = {a + b}"]


def _sub(rng: random.Random, lo: int = 1, hi: int = 9) -> Problem:
    a = rng.randint(lo, hi)
    b = rng.randint(1, min(a, 9))
    return f"{a}-{b}", a - b, [f"{a}-{b} = {a - b}"]


def _two_digit(rng: random.Random) -> Problem:
    a, c = rng.randint(10, 49), rng.randint(1, 9)
    if rng.random() < 0.5:
        return f"{a}+{c}", a + c, [f"{a}+{c} = {a + c}"]
    return _sub(rng, 10, 49)


def _mul(rng: random.Random) -> Problem:
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    return f"{a}x{b}", a * b, [f"{a}x{b} = {a * b}"]


def _mul_add(rng: random.Random) -> Problem:
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    p = a * b
    c = rng.randint(1, 9)
    if rng.random() < 0.5:
        return f"{a}x{b}+{c}", p + c, [f"{a}x{b} = {p}", f"{p}+{c} = {p + c}"]
    c = min(c, p)
    return f"{a}x{b}-{c}", p - c, [f"{a}x{b} = {p}", f"{p}-{c} = {p - c}"]


def _add_sub(rng: random.Random) -> Problem:
    a, b = rng.randint(1, 9), rng.randint(1, 9)
    s = a + b
    c = rng.randint(1, min(9, s))
    return f"{a}+{b}-{c}", s - c, [f"{a}+{b} = {s}", f"{s}-{c} = {s - c}"]


def _two_products(rng: random.Random) -> Problem:
    a, b, c, d = (rng.randint(2, 9) for _ in range(4))
    p, q = a * b, c * d
    return f"{a}x{b}+{c}x{d}", p + q, [f"{a}x{b} = {p}", f"{c}x{d} = {q}", f"{p}+{q} = {p + q}"]


def _paren(rng: random.Random) -> Problem:
    a, b, c = rng.randint(1, 9), rng.randint(1, 9), rng.randint(2, 9)
    s = a + b
    return f"({a}+{b})x{c}", s * c, [f"{a}+{b} = {s}", f"{s}x{c} = {s * c}"]


def _add_product(rng: random.Random) -> Problem:
    a, b, c = rng.randint(1, 9), rng.randint(2, 9), rng.randint(2, 9)
    p = b * c
    return f"{a}+{b}x{c}", a + p, [f"{b}x{c} = {p}", f"{a}+{p} = {a + p}"]


# level: (problem makers, font size on the 64-pixel canvas)
_LEVELS: dict[int, tuple[tuple[Callable[[random.Random], Problem], ...], int]] = {
    1: ((_add, _sub), 28),
    2: ((_two_digit, _mul), 24),
    3: ((_mul_add, _add_sub), 18),
    4: ((_two_products, _paren, _add_product), 14),
}


def generate(rng: random.Random, level: int, size: int) -> Sample:
    makers, fsize = _LEVELS[level]
    expr, value, steps = rng.choice(makers)(rng)
    img, draw = canvas(size)
    if level in ALIGNED_LEVELS and len(expr) <= CELLS:  # one character per token cell
        draw_cells(draw, expr, size, rng.randint(0, CELLS - len(expr)), rng.randrange(CELLS))
    else:
        place_text(rng, draw, expr, size, fsize)
    return Sample(
        domain="math", level=level, question=QUESTION, answer=str(value), final=str(value),
        think=", ".join(steps) + ".", caption=f"The image shows {expr}.",
        text=f"{expr} = {value}.", frames=[img], pretrain_kind="ocr",
        meta={"level": level, "expression": expr},
    )


def vocabulary() -> list[str]:
    return [QUESTION, "The image shows (2+3)x4.", "2x3 = 6, 4x5 = 20, 6+20 = 26.",
            "12-5 = 7.", "(1+2)x3 = 9."]
