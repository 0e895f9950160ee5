"""Math: symbolic/numeric equivalence — fast path first, math-verify in killable workers second.

The reference may be a string (``"3/4"``, ``"\\\\frac{3}{4}"``, ``"2\\\\sqrt{2}"``), a number, or
a list of acceptable answers.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from thinkvl.config import Section

from .. import result as R
from ..result import Deferred, Outcome
from .base import Ctx, Verifier, reference_text, register
from .mathchain import chain_links, is_chain
from .mathfast import fast_equal
from .mathpool import MathPool, MathVerdict

_MAX_SYMBOLIC_CHARS = 400  # longer boxes are not a final math answer; don't feed them to sympy


class MathEngine:
    """Fast path + verdict cache + worker pool, shared by every math-like domain."""

    def __init__(
        self, timeout_s: float, workers: int, memory_mb: int, rel_tol: float, cache_size: int
    ) -> None:
        self.rel_tol = rel_tol
        self.pool = MathPool(workers=workers, timeout_s=timeout_s, memory_mb=memory_mb)
        self.cache: dict[tuple[str, str], MathVerdict] = {}
        self.cache_size = cache_size
        self.counts = {"fast": 0, "cache": 0, "symbolic": 0, "timeout": 0}

    def quick(self, gold: str, pred: str) -> bool | None:
        res = fast_equal(gold, pred, self.rel_tol)
        if res is not None:
            self.counts["fast"] += 1
        return res

    def verify_many(self, pairs: list[tuple[str, str]]) -> list[MathVerdict]:
        """Symbolic verdicts for pairs the fast path could not settle (cached)."""
        out: list[MathVerdict | None] = [self.cache.get(p) for p in pairs]
        todo = [i for i, v in enumerate(out) if v is None]
        self.counts["cache"] += len(pairs) - len(todo)
        if todo:
            uniq = list(dict.fromkeys(pairs[i] for i in todo))
            got = dict(zip(uniq, self.pool.verify_many(uniq)))
            self.counts["symbolic"] += len(uniq)
            for pair, verdict in got.items():
                if verdict.status == "timeout":
                    self.counts["timeout"] += 1
                elif self.cache_size:
                    if len(self.cache) >= self.cache_size:
                        self.cache.pop(next(iter(self.cache)))
                    self.cache[pair] = verdict
            for i in todo:
                out[i] = got[pairs[i]]
        return out  # type: ignore[return-value]

    def close(self) -> None:
        self.pool.close()


def gold_alternatives(gold: Any) -> list[str]:
    """A reference as a list of acceptable answer strings."""
    if isinstance(gold, (list, tuple)):
        return [reference_text(g) for g in gold if g is not None and reference_text(g).strip()]
    text = reference_text(gold)
    return [text] if text.strip() else []


class MathOptions(Section):
    rel_tol: float | None = Field(None, ge=0, description="overrides math.rel_tol")


def math_check(engine: MathEngine, box: str, golds: list[str], why: str = "") -> Outcome | Deferred:
    """Equivalence of ``box`` with any of ``golds``; shared with the science verifier.

    A chained box (``x = 6 = 5``) must equal the reference in every link (see mathchain)."""
    if not golds:
        return Outcome(0.0, False, "no reference answer", box, (R.NO_REFERENCE,))
    links = chain_links(box)
    if links is not None and not any(is_chain(g) for g in golds):
        if len(links) > 1:
            return _every_link(engine, box, links, golds, why)
        if links and links[0]:
            box = links[0]  # "x = 5": the value after the name
    return _single_check(engine, box, golds, why)


def _every_link(
    engine: MathEngine, box: str, links: list[str], golds: list[str], why: str
) -> Outcome | Deferred:
    """All links of a chain must be equivalent to the reference: ``6 = 5`` is two answers."""
    if not all(links):
        return Outcome(0.0, False, f"{why}an empty link in the chain", box, (R.UNPARSABLE,))
    checks = [_single_check(engine, link, golds, why) for link in links]
    for link, out in zip(links, checks):
        if isinstance(out, Outcome) and not out.correct:
            return Outcome(
                0.0, False, f"{why}{link!r} in the chain is not the reference", box,
                (R.MULTIPLE_ANSWERS, *out.flags),
            )
    deferred = [c for c in checks if isinstance(c, Deferred)]
    if not deferred:
        return Outcome(1.0, True, f"{why}every link of the chain equals the reference", box)
    sizes = [len(d.payload) for d in deferred]

    def finish(verdicts: list[MathVerdict]) -> Outcome:
        k = 0
        for d, n in zip(deferred, sizes):
            out = d.finish(verdicts[k : k + n])
            k += n
            if not out.correct:
                return Outcome(0.0, False, f"{why}a link of the chain is not the reference",
                               box, (R.MULTIPLE_ANSWERS, *out.flags))
        return Outcome(1.0, True, f"{why}every link of the chain equals the reference", box)

    return Deferred("math", [p for d in deferred for p in d.payload], finish)


def _single_check(engine: MathEngine, box: str, golds: list[str], why: str) -> Outcome | Deferred:
    undecided = []
    for gold in golds:
        res = engine.quick(gold, box)
        if res:
            return Outcome(1.0, True, f"{why}equivalent to {gold!r} (fast path)", box)
        if res is None:
            undecided.append(gold)
    if not undecided:
        return Outcome(0.0, False, f"{why}not equivalent to the reference (fast path)", box)
    if len(box) > _MAX_SYMBOLIC_CHARS:
        return Outcome(
            0.0, False, f"{why}answer too long for a math expression", box, (R.TOO_LONG,)
        )
    return Deferred(
        "math", [(g, box) for g in undecided], lambda vs: _symbolic_outcome(vs, box, why)
    )


def _symbolic_outcome(verdicts: list[MathVerdict], box: str, why: str) -> Outcome:
    if any(v.status == "ok" and v.equal for v in verdicts):
        return Outcome(1.0, True, f"{why}equivalent (math-verify)", box)
    if any(v.status == "timeout" for v in verdicts):
        detail = next(v.detail for v in verdicts if v.status == "timeout")
        return Outcome(0.0, False, f"{why}timed out: {detail}", box, (R.TIMEOUT,))
    if all(v.status == "unparsed" for v in verdicts):
        return Outcome(0.0, False, f"{why}{verdicts[0].detail}", box, (R.UNPARSABLE,))
    bad = [v for v in verdicts if v.status == "error"]
    if bad and len(bad) == len(verdicts):
        return Outcome(0.0, False, f"{why}{bad[0].detail}", box)
    return Outcome(0.0, False, f"{why}not equivalent (math-verify)", box)


@register
class MathVerifier(Verifier):
    """Math answers: exact/normalised → fast numeric/symbolic → math-verify under a time limit."""

    name = "math"
    Options = MathOptions

    def check(self, box: str, gold: Any, ctx: Ctx) -> Outcome | Deferred:
        return math_check(self.env.math, box, gold_alternatives(gold))
