"""A strict LaTeX/ASCII arithmetic subset parsed into small tuple trees (no sympy).

Grammar: numbers, single-letter variables (``e`` is Euler's number, a standalone ``i`` the
imaginary unit, as in math-verify), greek letters, ``+ - * / ^``, implicit products, ``\\frac``,
``\\sqrt[n]``, ``\\binom``, ``!``, ``\\pi``, ``\\log_b``, ``\\ln`` and trig functions. Anything
ambiguous (``2^10``, ``\\sin 2x``, ``\\sin^{-1}``) raises :class:`Unsure` so the caller can defer
to math-verify rather than guess.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache

Node = tuple
SEP = "\x00"  # stands for the space in "\\pi r" once whitespace is removed
MAX_LEN = 300


class Unsure(Exception):
    """The fast path cannot decide; the caller falls back to math-verify."""


class Inexact(Exception):
    """Exact (rational) evaluation is impossible; evaluate numerically instead."""


def variables(node: Node) -> set[str]:
    if node[0] == "var":
        return {node[1]}
    out: set[str] = set()
    for child in node[1:]:
        if isinstance(child, tuple):
            out |= variables(child)
    return out


_FUNCS = {"sin", "cos", "tan", "cot", "sec", "csc", "ln", "exp", "arcsin", "arccos", "arctan"}
_MUL_CMDS = {"cdot", "times"}
_GREEK = {
    "alpha",
    "beta",
    "gamma",
    "delta",
    "theta",
    "lambda",
    "mu",
    "sigma",
    "omega",
    "phi",
    "rho",
    "tau",
    "varphi",
    "vartheta",
}
_NUM_RE = re.compile(r"\d+(?:\.\d+)?|\.\d+")
# math-verify reads a standalone i as the imaginary unit (else i is a real symbol): mirror it
COMPLEX_I_RE = re.compile(r"(?<![A-Za-z0-9\\])i(?![A-Za-z0-9])")
_CMD_RE = re.compile(r"\\([A-Za-z]+)")


@lru_cache(maxsize=65536)
def parse_expr(s: str, imaginary: bool = False) -> Node | None:
    """A tree for a strict LaTeX/ASCII arithmetic subset, or None when ``s`` is outside it."""
    if not s or len(s) > MAX_LEN:
        return None
    parser = _Parser(s, imaginary)
    try:
        node = parser.expr()
        if parser.i != len(s):
            return None
        return node
    except (Unsure, IndexError, ValueError, RecursionError):
        return None


def num_node(value: Fraction) -> Node:
    """A number leaf carrying its exact value and a ready complex for numeric evaluation."""
    try:
        approx = complex(value)
    except OverflowError:
        approx = complex(math.inf)
    return ("num", value, approx)


def _frac(token: str) -> Fraction:
    """Exact value of a decimal token, without Fraction's slow string parser."""
    whole, _, frac = token.partition(".")
    if not frac:
        return Fraction(int(whole))
    return Fraction(int(whole or "0") * 10 ** len(frac) + int(frac), 10 ** len(frac))


class _Parser:
    """Recursive descent over the normalised string (whitespace already removed)."""

    def __init__(self, s: str, imaginary: bool = False) -> None:
        self.s = s
        self.i = 0
        self.imaginary = imaginary

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def cmd(self) -> str | None:
        m = _CMD_RE.match(self.s, self.i)
        return m.group(1) if m else None

    def take(self, text: str) -> bool:
        if self.s.startswith(text, self.i):
            self.i += len(text)
            return True
        return False

    def expr(self) -> Node:
        node = self.term()
        while True:
            if self.take("+"):
                node = ("add", node, self.term())
            elif self.take("-"):
                node = ("sub", node, self.term())
            else:
                return node

    def term(self) -> Node:
        node = self.unary()
        while True:
            c = self.peek()
            name = self.cmd() if c == "\\" else None
            if c == "*" or name in _MUL_CMDS:
                self.i += 1 if c == "*" else len(name) + 1
                node = ("mul", node, self.unary())
            elif c == "/" or name == "div":
                self.i += 1 if c == "/" else 4
                node = ("div", node, self.unary())
            elif self._starts_primary():
                node = ("mul", node, self.power())
            else:
                return node

    def _starts_primary(self) -> bool:
        c = self.peek()
        if not c:
            return False
        if c in "({" or c == SEP:
            return True  # not digits: "2.5.3" must not read as 2.5 * 0.3
        if c.isalpha():
            return True
        if c == "\\":
            name = self.cmd()
            return name is not None and (
                name in _FUNCS or name in _GREEK or name in ("frac", "sqrt", "pi", "binom", "log")
            )
        return False

    def unary(self) -> Node:
        if self.take("-"):
            return ("neg", self.unary())
        if self.take("+"):
            return self.unary()
        return self.power()

    def power(self) -> Node:
        base = self.primary()
        if self.take("^"):
            if self.peek() == "{":
                self.i += 1
                exp = self.expr()
                self._expect("}")
            elif self.peek().isdigit():
                exp = num_node(Fraction(int(self.s[self.i])))
                self.i += 1
                if self.peek().isdigit():
                    raise Unsure  # "2^10": LaTeX reads 2^1 0; let math-verify decide
            elif self.peek() == "(":
                exp = self.primary()
            elif self.peek().isalpha():
                exp = self._atom()
            else:
                raise Unsure
            if self.peek() == "^":
                raise Unsure
            base = ("pow", base, exp)
        if self.peek() == "!":
            self.i += 1
            if self.peek() == "!":
                raise Unsure  # double factorial
            base = ("fact", base)
        if self.peek() in ("!", "_", "'", "^"):
            raise Unsure
        return base

    def _letter(self) -> str:
        c = self.peek()
        if not c.isalpha() or not c.isascii():
            raise Unsure
        self.i += 1
        if self.peek().isalpha():
            raise Unsure  # "xy", "sin", words: ambiguous
        return c

    def _atom(self) -> Node:
        """A single letter: e is Euler's number and a standalone i the imaginary unit (as in
        math-verify); others are variables."""
        c = self._letter()
        if c == "e":
            return ("e",)
        if c == "i" and self.imaginary:
            return ("i",)
        return ("var", c)

    def _fn_arg(self) -> Node:
        """``(…)``, ``{…}``, ``\\frac…``, a number or a lone letter (``\\sin x``, ``\\log_2 8``);
        ``\\sin 2x`` and ``\\sin x^2`` are ambiguous and left to math-verify."""
        self.take(SEP)
        if self.take("("):
            arg = self.expr()
            self._expect(")")
            return arg
        c = self.peek()
        if c == "{":
            return self.group()
        if c == "\\":
            name = self.cmd()
            if name not in _GREEK and name not in ("pi", "frac", "sqrt"):
                raise Unsure
            arg = self._command()
        elif c.isdigit():
            m = _NUM_RE.match(self.s, self.i)
            if not m:
                raise Unsure
            self.i = m.end()
            arg = num_node(_frac(m.group(0)))
        else:
            arg = self._atom()
        if self.peek() and (self.peek().isalnum() or self.peek() in "^_({!"):
            raise Unsure
        return arg

    def _expect(self, text: str) -> None:
        if not self.take(text):
            raise Unsure

    def group(self) -> Node:
        """A LaTeX argument: ``{…}`` or a single character (``\\frac12``)."""
        self.take(SEP)
        if self.take("{"):
            node = self.expr()
            self._expect("}")
            return node
        c = self.peek()
        if c.isdigit():
            self.i += 1
            return num_node(Fraction(int(c)))
        if c.isalpha():
            return self._atom()
        raise Unsure

    def primary(self) -> Node:
        c = self.peek()
        if c == SEP:
            self.i += 1
            return self.primary()
        if c.isdigit() or c == ".":
            m = _NUM_RE.match(self.s, self.i)
            if not m:
                raise Unsure
            self.i = m.end()
            return num_node(_frac(m.group(0)))
        if c == "(":
            self.i += 1
            node = self.expr()
            self._expect(")")
            return node
        if c == "{":
            return self.group()
        if c == "\\":
            return self._command()
        if c.isalpha():
            return self._atom()
        raise Unsure

    def _command(self) -> Node:
        name = self.cmd()
        if name is None:
            raise Unsure
        self.i += len(name) + 1
        if name == "pi":
            return ("pi",)
        if name == "frac":
            return ("div", self.group(), self.group())
        if name == "sqrt":
            index = Fraction(2)
            if self.take("["):
                m = _NUM_RE.match(self.s, self.i)
                if not m or "." in m.group(0):
                    raise Unsure
                index = Fraction(m.group(0))
                self.i = m.end()
                self._expect("]")
            return ("root", self.group(), index)
        if name == "binom":
            return ("binom", self.group(), self.group())
        if name == "log":
            base: Node = num_node(Fraction(10))  # latex2sympy reads a bare \log as base 10
            if self.take("_"):
                base = self.group()
            return ("div", ("fn", "ln", self._fn_arg()), ("fn", "ln", base))
        if name in _FUNCS:
            power = None
            if self.take("^"):
                power = self.group()
                if power[0] != "num" or power[1] < 1:
                    raise Unsure  # \sin^{-1} x is arcsin, not 1/sin
            node: Node = ("fn", name, self._fn_arg())
            return node if power is None else ("pow", node, power)
        if name in _GREEK:
            return ("var", name)
        raise Unsure
