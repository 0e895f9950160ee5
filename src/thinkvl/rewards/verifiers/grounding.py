"""Grounding: the fraction of predicted boxes whose IoU with a (distinct) reference box exceeds τ.

Boxes use integer 0–1000 coordinates. Each reference box can be matched once, so repeating a
good box earns nothing; more than ``max_box_ratio`` × the reference count scores 0. The default
ratio is 1: a second box for one target is a hedge ("here, or there"), and at 2 it earned 0.5
(issue 20, finding 6). ``correct`` needs every reference box found and no extra box.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from thinkvl.config import Section

from .. import result as R
from ..extract import parse_boxes, valid_box
from ..result import Outcome
from .base import Ctx, Verifier, describe, register


class GroundingOptions(Section):
    iou_threshold: float = Field(0.5, ge=0, le=1)
    max_box_ratio: float = Field(
        1.0, ge=1, description="more predicted boxes than this x the targets score 0 (hedging)"
    )
    denominator: str = Field(
        "pred",
        pattern="^(pred|max)$",
        description="pred: fraction of predicted boxes; max: also penalise missed reference boxes",
    )


def iou(a: list[float], b: list[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def gold_boxes(gold: Any) -> list[list[float]] | None:
    """``[x1, y1, x2, y2]``, ``[[…], …]``, ``{"boxes": […]}`` or text → list of boxes."""
    if isinstance(gold, dict):
        gold = gold.get("boxes", gold.get("bbox"))
    if isinstance(gold, str):
        return parse_boxes(gold) or None
    if (
        isinstance(gold, (list, tuple))
        and len(gold) == 4
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in gold)
    ):
        gold = [gold]
    if not isinstance(gold, (list, tuple)) or not gold:
        return None
    out = []
    for box in gold:
        if not (isinstance(box, (list, tuple)) and len(box) == 4):
            return None
        try:
            out.append([float(v) for v in box])
        except (TypeError, ValueError):
            return None
    return out


def match_count(pred: list[list[float]], gold: list[list[float]], tau: float) -> int:
    """Greedy one-to-one matching by IoU, highest first."""
    pairs = sorted(
        ((iou(p, g), i, j) for i, p in enumerate(pred) for j, g in enumerate(gold)), reverse=True
    )
    used_p: set[int] = set()
    used_g: set[int] = set()
    for value, i, j in pairs:
        if value <= tau:
            break
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
    return len(used_p)


@register
class GroundingVerifier(Verifier):
    name = "grounding"
    Options = GroundingOptions

    def reference_text(self, gold: Any) -> str:
        return ""  # coordinates are not words: no hedge/length comparison against them

    def check(self, box: str, gold: Any, ctx: Ctx) -> Outcome:
        want = gold_boxes(gold)
        if not want:
            return Outcome(
                0.0, False, f"reference {describe(gold)} holds no boxes", None, (R.NO_REFERENCE,)
            )
        pred = parse_boxes(box)
        if not pred:
            return Outcome(
                0.0, False, "no [x1, y1, x2, y2] box in the answer", None, (R.UNPARSABLE,)
            )
        shown = [[int(v) if v.is_integer() else v for v in b] for b in pred]
        if len(pred) > self.opt.max_box_ratio * len(want):
            return Outcome(
                0.0,
                False,
                f"{len(pred)} boxes for {len(want)} targets",
                shown,
                (R.MULTIPLE_ANSWERS,),
            )
        usable = [b for b in pred if valid_box(b)]
        hits = match_count(usable, want, self.opt.iou_threshold)
        denom = len(pred) if self.opt.denominator == "pred" else max(len(pred), len(want))
        score = hits / denom
        ok = hits == len(want) == len(pred)
        invalid = len(pred) - len(usable)
        note = f"; {invalid} invalid box(es)" if invalid else ""
        return Outcome(
            score,
            ok,
            f"{hits}/{len(pred)} predicted boxes with IoU > "
            f"{self.opt.iou_threshold:g} ({len(want)} targets){note}",
            shown,
        )
