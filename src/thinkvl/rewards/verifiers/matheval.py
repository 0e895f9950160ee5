"""Evaluation of :mod:`mathparse` trees: exactly (fractions) when possible, else complex floats.

Guards keep pathological input cheap: exponents, factorials and binomials are bounded and any
overflow becomes :class:`Unsure` (the caller defers to math-verify's killable worker).
"""

from __future__ import annotations

import cmath
import math
from fractions import Fraction
from typing import Any

from .mathparse import Inexact, Node, Unsure

_MAX_BITS = 4096


def eval_exact(node: Node) -> Fraction:
    op = node[0]
    if op == "num":
        return node[1]
    if op in ("var", "pi", "fn", "e", "i"):
        raise Inexact
    if op == "fact":
        n = eval_exact(node[1])
        if n.denominator != 1 or n < 0 or n > 300:
            raise Inexact
        return Fraction(math.factorial(int(n)))
    if op == "binom":
        n, k = eval_exact(node[1]), eval_exact(node[2])
        if n.denominator != 1 or k.denominator != 1 or not 0 <= n <= 1000:
            raise Inexact
        return Fraction(math.comb(int(n), int(k)) if 0 <= k <= n else 0)
    if op == "neg":
        return -eval_exact(node[1])
    if op == "root":
        value = eval_exact(node[1])
        n = node[2]
        if n.denominator != 1 or value < 0 or n < 1:
            raise Inexact
        return _exact_root(value, int(n))
    a, b = eval_exact(node[1]), eval_exact(node[2])
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    if op == "pow":
        if b.denominator != 1 or abs(b) > 512:
            raise Inexact
        bits = max(a.numerator.bit_length(), a.denominator.bit_length())
        if bits * abs(int(b)) > _MAX_BITS:
            raise Inexact
        return a ** int(b)
    raise Unsure


def _exact_root(value: Fraction, n: int) -> Fraction:
    num = _int_root(value.numerator, n)
    den = _int_root(value.denominator, n)
    if num is None or den is None:
        raise Inexact
    return Fraction(num, den)


def _int_root(x: int, n: int) -> int | None:
    if x.bit_length() > _MAX_BITS:
        return None
    r = round(x ** (1.0 / n)) if x < 2**1000 else None
    if r is None:
        return None
    for cand in (r - 1, r, r + 1):
        if cand >= 0 and cand**n == x:
            return cand
    return None


_CFUNCS: dict[str, Any] = {
    "sin": cmath.sin,
    "cos": cmath.cos,
    "tan": cmath.tan,
    "ln": cmath.log,
    "exp": cmath.exp,
    "cot": lambda z: 1 / cmath.tan(z),
    "sec": lambda z: 1 / cmath.cos(z),
    "csc": lambda z: 1 / cmath.sin(z),
    "arcsin": cmath.asin,
    "arccos": cmath.acos,
    "arctan": cmath.atan,
}


def eval_num(node: Node, env: dict[str, complex]) -> complex:
    try:
        value = _eval_c(node, env)
    except (ZeroDivisionError, OverflowError, ValueError, Inexact):
        raise Unsure from None
    if not (math.isfinite(value.real) and math.isfinite(value.imag)):
        raise Unsure
    return value


def _eval_c(node: Node, env: dict[str, complex]) -> complex:
    op = node[0]
    if op == "num":
        return node[2]
    if op == "var":
        return env[node[1]]
    if op == "pi":
        return complex(math.pi)
    if op == "e":
        return complex(math.e)
    if op == "i":
        return 1j
    if op in ("fact", "binom"):
        return complex(eval_exact(node))  # integers only; anything else is Inexact -> unsure
    if op == "neg":
        return -_eval_c(node[1], env)
    if op == "fn":
        arg = _eval_c(node[2], env)
        if abs(arg) > 1e6:
            raise Unsure
        return complex(_CFUNCS[node[1]](arg))
    if op == "root":
        value = _eval_c(node[1], env)
        n = float(node[2])
        if n == 2:
            return cmath.sqrt(value)
        if value.imag == 0 and value.real >= 0:
            return complex(value.real ** (1.0 / n))
        raise Unsure  # odd roots of negatives: real vs principal root conventions differ
    a, b = _eval_c(node[1], env), _eval_c(node[2], env)
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    if op == "pow":
        if abs(b) > 1e4 or (abs(a) > 1e10 and abs(b) > 30):
            raise Unsure
        if a.imag == 0 and b.imag == 0 and (a.real > 0 or float(b.real).is_integer()):
            return complex(a.real**b.real)
        return a**b
    raise Unsure
