"""GUI agents: the action type must match; a click scores by point-in-box of the target
element, typed text by similarity. Exactly one action: "click everywhere" earns nothing.

Reference: ``{"action": "click", "bbox": [x1, y1, x2, y2]}`` or
``{"action": "type", "text": "hello", "bbox": […]}`` (0–1000 grid; ``point`` + ``radius`` also
accepted, and ``direction``/``key``/``text`` for scroll/press/open/answer actions).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from thinkvl.config import Section

from .. import result as R
from ..extract import TooLongToCompare, similarity
from ..result import Outcome
from .base import Ctx, Verifier, describe, register
from .gui_actions import Action, ActionError, canonical, parse_actions

_POINTED = {"click", "double_click", "right_click", "long_press", "hover"}


class GuiOptions(Section):
    text_correct_threshold: float = Field(
        1.0, ge=0, le=1, description="typed-text similarity counted as correct"
    )
    min_text_similarity: float = Field(
        0.0, ge=0, le=1, description="typed text less similar than this scores 0"
    )
    point_radius: float = Field(40.0, ge=0, description="for references given as a point")
    case_sensitive_text: bool = True


def _inside(point: tuple[float, float], bbox: Any) -> bool:
    x1, y1, x2, y2 = (float(v) for v in bbox)
    return x1 <= point[0] <= x2 and y1 <= point[1] <= y2


@register
class GuiVerifier(Verifier):
    name = "gui"
    Options = GuiOptions

    def reference_text(self, gold: Any) -> str:
        return str(gold.get("text", "")) if isinstance(gold, dict) else ""

    def check(self, box: str, gold: Any, ctx: Ctx) -> Outcome:
        if not isinstance(gold, dict) or not (gold.get("action") or gold.get("action_type")):
            return Outcome(
                0.0, False, f"reference {describe(gold)} is not a GUI action", None, (R.NO_REFERENCE,)
            )
        try:
            actions = parse_actions(box)
        except ActionError as exc:
            return Outcome(0.0, False, f"unparsable action: {exc}", None, (R.UNPARSABLE,))
        if len(actions) != 1:
            return Outcome(
                0.0,
                False,
                f"{len(actions)} actions; exactly one is expected",
                [a.as_dict() for a in actions],
                (R.MULTIPLE_ANSWERS,),
            )
        act = actions[0]
        want = canonical(gold.get("action", gold.get("action_type")))
        if act.kind != want:
            return Outcome(0.0, False, f"action {act.kind!r} vs reference {want!r}", act.as_dict())
        if want in _POINTED:
            return self._click(act, gold)
        if want == "type":
            return self._type(act, gold)
        return self._other(act, gold)

    def _target_hit(self, point: tuple[float, float] | None, gold: dict[str, Any]) -> bool | None:
        """Point-in-box (or within radius of a reference point); None when no target is given."""
        if "bbox" in gold:
            return point is not None and _inside(point, gold["bbox"])
        if "point" in gold:
            px, py = (float(v) for v in gold["point"])
            return point is not None and (
                (point[0] - px) ** 2 + (point[1] - py) ** 2 <= self.opt.point_radius**2
            )
        return None

    def _click(self, act: Action, gold: dict[str, Any]) -> Outcome:
        hit = self._target_hit(act.point, gold)
        if act.point is None:
            return Outcome(0.0, False, f"{act.kind} without coordinates", act.as_dict())
        if hit is None:
            return Outcome(
                0.0, False, "reference has no bbox/point to click", act.as_dict(), (R.NO_REFERENCE,)
            )
        where = "inside" if hit else "outside"
        return self.verdict(hit, f"{act.kind} at {act.point} {where} the target", act.as_dict())

    def _type(self, act: Action, gold: dict[str, Any]) -> Outcome:
        if act.point is not None and self._target_hit(act.point, gold) is False:
            return Outcome(0.0, False, "typed into the wrong element", act.as_dict())
        want = str(gold.get("text", ""))
        got = act.text or ""
        if not self.opt.case_sensitive_text:
            want, got = want.lower(), got.lower()
        try:
            score = similarity(got.strip(), want.strip())
        except TooLongToCompare as exc:
            return Outcome(0.0, False, f"typed text not scored: {exc}", act.as_dict(), (R.TOO_LONG,))
        if score < self.opt.min_text_similarity:
            return Outcome(0.0, False, f"typed text similarity {score:.2f} too low", act.as_dict())
        ok = score >= self.opt.text_correct_threshold
        return Outcome(score, ok, f"typed text similarity {score:.2f}", act.as_dict())

    def _other(self, act: Action, gold: dict[str, Any]) -> Outcome:
        checks = []
        if gold.get("direction") is not None:
            checks.append(str(gold["direction"]).lower() == (act.direction or ""))
        for key in ("key", "text", "app"):
            if gold.get(key) is not None:
                checks.append(str(gold[key]).strip().lower() == (act.text or "").strip().lower())
        hit = self._target_hit(act.point, gold)
        if hit is not None and act.point is not None:
            checks.append(hit)
        ok = all(checks)
        return self.verdict(
            ok, f"{act.kind} arguments {'match' if ok else 'differ'}", act.as_dict()
        )
