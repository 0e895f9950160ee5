"""Fast, sympy-free equivalence for the common math answers (numbers, fractions, radicals, π,
polynomials, tuples/sets); everything else returns None and goes to math-verify.

Why: math-verify + sympy settles at most about 1,000 pairs a second; RL rewards need far more.
The fast path only decides when it fully understands both sides (see :mod:`mathparse`), compares
exactly where it can and numerically otherwise, with variables checked at fixed random points;
tuples, sets, solved systems and flipped inequalities are compared element by element.
Unknown syntax, huge exponents or overflow → None.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from .matheval import eval_exact, eval_num
from .mathparse import (
    COMPLEX_I_RE,
    MAX_LEN,
    SEP,
    Inexact,
    Node,
    Unsure,
    num_node,
    parse_expr,
    variables,
)

_DROP_RE = re.compile(
    r"\\left(?![a-zA-Z])|\\right(?![a-zA-Z])|\\displaystyle|\\!|\\,|\\;|\\:|\\ |\\quad|\\qquad|~"
    r"|\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°|\\degree"
)
_FRAC_ALIAS_RE = re.compile(r"\\[dt](frac|binom)(?![a-zA-Z])")
_IN_PREFIX_RE = re.compile(r"^[A-Za-z]\\in(?![a-zA-Z])")
_CMD_SPACE_RE = re.compile(r"(\\[A-Za-z]+)\s+(?=[A-Za-z0-9])")
_WS_RE = re.compile(r"\s+")
_THOUSANDS_RE = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_ASSIGN_RE = re.compile(r"^([A-Za-z])=([^=<>]+)$")
_TEXT_RE = re.compile(r"\\(?:text|mathrm|textbf|mathbf|mbox)\{([^{}]*)\}")
_DELIM_RE = re.compile(r"^(?:\$\$|\$|\\\(|\\\[)(.*?)(?:\$\$|\$|\\\)|\\\])$", re.DOTALL)

_POINTS = (
    (0.6180339887, 1.4142135624, 0.7320508076, 1.2599210499),
    (1.3247179572, 0.5772156649, 1.6487212707, 0.8660254038),
    (0.9189385332, 1.7320508076, 0.4342944819, 1.1447298858),
)


@lru_cache(maxsize=65536)
def normalize(text: str) -> str:
    """Canonical spelling used for string equality and as the parser's input."""
    s = text.strip()
    m = _DELIM_RE.match(s)
    if m:
        s = m.group(1).strip()
    s = _TEXT_RE.sub(r"\1", s)
    s = _FRAC_ALIAS_RE.sub(r"\\\1", _DROP_RE.sub(" ", s))
    s = _WS_RE.sub("", _CMD_SPACE_RE.sub(r"\1" + SEP, s))
    s = _IN_PREFIX_RE.sub("", s.rstrip("."))  # "x \in [0, 1)" is the set itself
    if _THOUSANDS_RE.match(s):
        s = s.replace(",", "")
    return s


def _strip_assignment(a: str, b: str) -> tuple[str, str]:
    """``x=3`` vs ``3`` → compare ``3`` with ``3``; ``y=2x`` vs ``y=x+x`` → compare right sides."""
    ma, mb = _ASSIGN_RE.match(a), _ASSIGN_RE.match(b)
    if ma and mb and ma.group(1) == mb.group(1):
        return ma.group(2), mb.group(2)
    if ma and "=" not in b:
        return ma.group(2), b
    if mb and "=" not in a:
        return a, mb.group(2)
    return a, b


def fast_equal(gold: str, pred: str, rel_tol: float = 1e-6) -> bool | None:
    """True/False when the fast path can decide, None when math-verify must."""
    if len(gold) > MAX_LEN or len(pred) > MAX_LEN:
        return None
    g, p = normalize(gold), normalize(pred)
    if g == p:
        return True
    g, p = _strip_assignment(g, p)
    if g == p:
        return True
    try:
        return _compare(g, p, rel_tol, depth=0)
    except (Unsure, RecursionError):
        return None


_OPEN = {"(": ")", "[": "]", "\\{": "\\}"}


def _container(s: str) -> tuple[str, str, list[str]] | None:
    for op in ("\\{", "(", "["):
        if s.startswith(op):
            break
    else:
        return None
    close = s[-2:] if s.endswith("\\}") else s[-1:]
    if close not in (")", "]", "\\}"):
        return None
    inner = s[len(op) : len(s) - len(close)]
    parts = _split_top(inner)
    if parts is None or len(parts) < 2:
        return None
    return op, close, parts


def _split_top(s: str) -> list[str] | None:
    depth, start, parts = 0, 0, []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s) and s[i + 1] in "{}":
            depth += 1 if s[i + 1] == "{" else -1
            i += 2
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif c == "," and depth == 0:
            parts.append(s[start:i])
            start = i + 1
        i += 1
    if depth != 0:
        return None
    parts.append(s[start:])
    return parts if all(parts) else None


def _compare(g: str, p: str, rel_tol: float, depth: int) -> bool:
    if depth > 3:
        raise Unsure
    cg, cp = _container(g), _container(p)
    if cg or cp:
        if not (cg and cp) or cg[:2] != cp[:2]:
            raise Unsure  # tuple vs interval vs set conventions: math-verify knows them
        if len(cg[2]) != len(cp[2]):
            return False
        if cg[0] == "\\{":
            return _match_unordered(cg[2], cp[2], rel_tol, depth)
        return all(_compare(a, b, rel_tol, depth + 1) for a, b in zip(cg[2], cp[2]))
    sg, sp = _assignments(g), _assignments(p)
    if sg or sp:
        if not (sg and sp) or sg.keys() != sp.keys():
            raise Unsure
        if all(_values_equal(sg[k], sp[k], rel_tol) for k in sg):
            return True
        raise Unsure  # "x=1, y=x+1" vs "x=1, y=2": substitution is math-verify's job
    rg, rp = _relation(g), _relation(p)
    if rg or rp:
        if not (rg and rp) or rg[1] != rp[1]:
            raise Unsure
        if _values_equal(rg[0], rp[0], rel_tol) and _values_equal(rg[2], rp[2], rel_tol):
            return True
        raise Unsure  # "2x > 4" vs "x > 2": equivalent relations need algebra
    if "," in g or "," in p or "=" in g or "=" in p:
        raise Unsure
    return _values_equal(g, p, rel_tol)


def _assignments(s: str) -> dict[str, str] | None:
    """``x=1, y=2`` (a solved system, any order) as {"x": "1", "y": "2"}, else None."""
    if "," not in s or "=" not in s:
        return None
    parts = _split_top(s)
    if not parts or len(parts) < 2:
        return None
    out = {}
    for part in parts:
        m = _ASSIGN_RE.match(part)
        if not m or m.group(1) in out:
            return None
        out[m.group(1)] = m.group(2)
    return out


_REL_RE = re.compile(r"\\(?:leq?|geq?|lt|gt)(?![a-zA-Z])|≤|≥|<|>")
_FLIP = {
    "<": ">",
    "\\lt": ">",
    "\\gt": ">",
    ">": ">",
    "\\le": "\\ge",
    "\\leq": "\\ge",
    "≤": "\\ge",
    "\\ge": "\\ge",
    "\\geq": "\\ge",
    "≥": "\\ge",
}


def _relation(s: str) -> tuple[str, str, str] | None:
    """``a < b`` as (b, ">", a): one strict/non-strict inequality in canonical direction."""
    found = list(_REL_RE.finditer(s))
    if len(found) != 1 or "=" in s.replace("\\leq", "").replace("\\geq", ""):
        return None
    m = found[0]
    lhs, rhs, op = s[: m.start()], s[m.end() :], m.group(0)
    if not lhs or not rhs:
        return None
    if op in ("<", "\\lt", "\\le", "\\leq", "≤"):
        lhs, rhs = rhs, lhs
    return lhs, _FLIP[op], rhs


def _match_unordered(gs: list[str], ps: list[str], rel_tol: float, depth: int) -> bool:
    left = list(ps)
    for a in gs:
        for k, b in enumerate(left):
            if _compare(a, b, rel_tol, depth + 1):
                del left[k]
                break
        else:
            return False
    return True


def _values_equal(g: str, p: str, rel_tol: float) -> bool:
    gs, gpct = _strip_pct(g)
    ps, ppct = _strip_pct(p)
    imaginary = bool(COMPLEX_I_RE.search(gs) or COMPLEX_I_RE.search(ps))
    tg, tp = parse_expr(gs, imaginary), parse_expr(ps, imaginary)
    if tg is None or tp is None:
        raise Unsure
    scale_g = (Fraction(1), Fraction(1, 100)) if gpct else (Fraction(1),)
    scale_p = (Fraction(1), Fraction(1, 100)) if ppct else (Fraction(1),)
    names = sorted(variables(tg) | variables(tp))
    if len(names) > len(_POINTS[0]):
        raise Unsure
    approx = "." in gs or "." in ps  # a decimal answer is compared with tolerance
    for sg in scale_g:
        for sp in scale_p:
            a, b = ("mul", tg, num_node(sg)), ("mul", tp, num_node(sp))
            if _trees_equal(a, b, names, rel_tol, approx):
                return True
    return False


def _strip_pct(s: str) -> tuple[str, bool]:
    for suffix in ("\\%", "%"):
        if s.endswith(suffix):
            return s[: -len(suffix)], True
    return s, False


def _trees_equal(a: Node, b: Node, names: list[str], rel_tol: float, approx: bool) -> bool:
    if not names:
        try:
            if eval_exact(a) == eval_exact(b):
                return True
            if not approx:
                return False
        except Inexact:
            pass
        except (ZeroDivisionError, OverflowError, ValueError):
            raise Unsure from None
        return _close(eval_num(a, {}), eval_num(b, {}), rel_tol)
    checked = 0
    for point in _POINTS:
        env = dict(zip(names, (complex(v) for v in point)))
        try:
            va, vb = eval_num(a, env), eval_num(b, env)
        except Unsure:
            continue
        if not _close(va, vb, max(rel_tol, 1e-9)):
            return False
        checked += 1
    if checked < 2:
        raise Unsure
    return True


def _close(a: complex, b: complex, rel_tol: float) -> bool:
    return abs(a - b) <= max(rel_tol * max(abs(a), abs(b)), 1e-12)
