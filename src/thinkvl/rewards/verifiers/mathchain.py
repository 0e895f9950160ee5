"""Chains in a math box: ``x = 6 = 5``, ``6 \\Rightarrow 5``, ``6 \\\\ 5``.

math-verify reads the *last* value of a chain, so ``6 | 5`` or ``6 = 5`` scored 1 against 5
(issue 20, finding 6): two answers where only the last was graded. A box that chains values at
the top level is therefore checked link by link: a leading name (``x``, ``f(2)``, ``a_n``) may
stand before the first ``=``, and every other link must equal the reference. ``\\frac{10}{2} =
5`` passes; ``6 = 5`` does not. References that chain themselves (an equation as the answer) are
compared whole, as before.
"""

from __future__ import annotations

import re

_SEP_RE = re.compile(
    r"\\(?:Rightarrow|Longrightarrow|implies|iff|to|rightarrow|longrightarrow|mid)(?![A-Za-z])"
    r"|\\\\|[=⇒→⟹∣]|\\(?:begin|end)\{[A-Za-z*]+\}|[{}()\[\]]|\\[{}]"
)
_NAME = r"(?:\\[A-Za-z]+|[A-Za-z])(?:_\{?[\w,]+\}?|'+)?"
_NAME_RE = re.compile(  # x, a_n, f(2), \theta, (x, y)
    rf"^\s*(?:{_NAME}(?:\([^()]*\))?|\(\s*{_NAME}(?:\s*,\s*{_NAME})*\s*\))\s*$"
)


def chain_links(box: str) -> list[str] | None:
    """The values of a top-level chain in ``box`` (a leading name dropped), or None when the
    box is not a chain. Separators inside braces, brackets or environments do not count."""
    depth = 0
    cuts: list[tuple[int, int]] = []
    for m in _SEP_RE.finditer(box):
        tok = m.group(0)
        if tok in "{([" or tok in ("\\{",) or tok.startswith("\\begin"):
            depth += 1
        elif tok in "})]" or tok in ("\\}",) or tok.startswith("\\end"):
            depth = max(0, depth - 1)
        elif depth == 0:
            cuts.append(m.span())
    if not cuts:
        return None
    links, start = [], 0
    for lo, hi in cuts:
        links.append(box[start:lo])
        start = hi
    links.append(box[start:])
    if _NAME_RE.match(links[0]) and not re.fullmatch(r"\s*[ei]\s*", links[0]):
        links = links[1:]  # "x = 5", "f(2) = 5": a name, not a value
    return [link.strip() for link in links]


def is_chain(text: str) -> bool:
    return chain_links(text) is not None
