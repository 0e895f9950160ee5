"""Boxes, points and GUI actions on thinkvl's 0–1000 grid: RefCOCO IoU ≥ 0.5, GUI grounding
(point in the target box or polygon; OSWorld-G's refusals) and offline action matching
(AndroidControl-style: action type, then point / text / direction / app).

Loaders convert each benchmark's published coordinates (pixels ``[x, y, w, h]``, pixel or
0–1 ``[x1, y1, x2, y2]``, polygons) to the 0–1000 grid with the image size, so every metric
here compares like with like; IoU and point-in-box are unchanged by that per-axis scaling.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from thinkvl.eval.benchmarks.base import EvalItem
from thinkvl.eval.metrics import Verdict, register_metric, right, wrong
from thinkvl.eval.parsing import BOX4_RE, POINT_RE

CLICK_RADIUS = 140.0  # 14% of the screen on the 0–1000 grid (the AITW/AndroidControl convention)


def to_grid(box: list[float], width: float, height: float, fmt: str = "xywh") -> list[float]:
    """A published box as [x1, y1, x2, y2] on the 0–1000 grid. ``fmt``: ``xywh`` / ``xyxy``
    in pixels, ``xyxy01`` normalised to 0–1."""
    if len(box) != 4:
        raise ValueError(f"a box needs 4 numbers, got {box!r}")
    x, y, a, b = (float(v) for v in box)
    if fmt == "xywh":
        x2, y2 = x + a, y + b
    elif fmt in ("xyxy", "xyxy01"):
        x2, y2 = a, b
    else:
        raise ValueError(f"unknown box format {fmt!r}")
    if fmt == "xyxy01":
        width = height = 1.0
    return [x / width * 1000, y / height * 1000, x2 / width * 1000, y2 / height * 1000]


def iou(a: list[float], b: list[float]) -> float:
    ax1, ay1, ax2, ay2 = min(a[0], a[2]), min(a[1], a[3]), max(a[0], a[2]), max(a[1], a[3])
    bx1, by1, bx2, by2 = min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])
    iw, ih = max(0.0, min(ax2, bx2) - max(ax1, bx1)), max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = iw * ih
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union if union > 0 else 0.0


def boxes_in(text: str) -> list[list[float]]:
    return [[float(v) for v in m] for m in BOX4_RE.findall(text)]


def refcoco(item: EvalItem, pred: str) -> Verdict:
    """RefCOCO/+/g (REC): the one predicted box must overlap the referent with IoU ≥ 0.5."""
    boxes = boxes_in(pred)
    if not boxes:
        return wrong("no [x1, y1, x2, y2] box", flags=("unparsable",))
    if len({tuple(b) for b in boxes}) > 1:
        return wrong(f"{len(boxes)} boxes; one referent expected")
    value = iou(boxes[0], list(item.answer))
    return right(f"IoU {value:.3f}") if value >= 0.5 else wrong(f"IoU {value:.3f} < 0.5")


register_metric("refcoco", refcoco, "grounding", None, "Acc@0.5: IoU ≥ 0.5 with the referent")


def point_of(text: str) -> tuple[float, float] | None:
    """One point: ``[x, y]``/``(x, y)``, or the centre of one box; ``None`` if none or several."""
    boxes = {tuple(b) for b in boxes_in(text)}
    if len(boxes) == 1:
        x1, y1, x2, y2 = boxes.pop()
        return (x1 + x2) / 2, (y1 + y2) / 2
    if boxes:
        return None
    pts = {(float(a), float(b)) for a, b in POINT_RE.findall(text)}
    if len(pts) != 1:
        m = re.search(r'"?x"?\s*[:=]\s*(-?\d+(?:\.\d+)?).{0,20}?"?y"?\s*[:=]\s*(-?\d+(?:\.\d+)?)',
                      text)
        return (float(m.group(1)), float(m.group(2))) if m and not pts else None
    return pts.pop()


def in_polygon(pt: tuple[float, float], poly: list[float]) -> bool:
    """Ray casting over a flat [x1, y1, x2, y2, …] polygon (OSWorld-G's published rule)."""
    x, y = pt
    n = len(poly) // 2
    inside, j = False, n - 1
    for i in range(n):
        xi, yi, xj, yj = poly[2 * i], poly[2 * i + 1], poly[2 * j], poly[2 * j + 1]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


_REFUSE_RE = re.compile(r"\b(?:none|not\s+(?:found|present|exist)|no\s+such|cannot|can't|refuse)",
                        re.IGNORECASE)


def gui_point(item: EvalItem, pred: str) -> Verdict:
    """GUI grounding (ScreenSpot, OSWorld-G): the predicted point (or a box's centre) must lie
    in the target box / polygon; an infeasible instruction (OSWorld-G ``refusal``) is right
    only when the answer refuses (no point, or a negative one, the published convention)."""
    gold: dict[str, Any] = item.answer
    pt = point_of(pred)
    if gold.get("refusal"):
        refused = (pt is None and bool(_REFUSE_RE.search(pred))) or (
            pt is not None and pt[0] < 0 and pt[1] < 0)
        return right("refused") if refused else wrong("should have refused")
    if pt is None:
        return wrong("no single point", flags=("unparsable",))
    if "polygon" in gold:
        hit = in_polygon(pt, [float(v) for v in gold["polygon"]])
    else:
        x1, y1, x2, y2 = (float(v) for v in gold["bbox"])
        hit = min(x1, x2) <= pt[0] <= max(x1, x2) and min(y1, y2) <= pt[1] <= max(y1, y2)
    return right("point in target") if hit else wrong(f"point {pt} outside the target")


register_metric("gui_point", gui_point, "point", None, "point inside the target element")


# -- offline action matching ---------------------------------------------------------------------

def _app_of(pred: str) -> str:
    try:
        data = json.loads(pred)
        if isinstance(data, dict):
            return str(data.get("app_name") or data.get("app") or data.get("text") or "")
    except ValueError:
        pass
    return pred


def gui_action(item: EvalItem, pred: str) -> Verdict:
    """AndroidControl-style step matching: the action type must match; a click/long press
    must land in the target element (its box when given, else within 14% of the screen of
    the gold point); typed text must equal the gold (case-insensitive, trimmed); a scroll its
    direction; opening an app its name. The step's type match is recorded as a flag."""
    from thinkvl.rewards.verifiers.gui_actions import ActionError, canonical, parse_actions

    gold: dict[str, Any] = item.answer
    want = canonical(gold["action_type"])
    try:
        acts = parse_actions(pred)
    except ActionError as exc:
        return wrong(f"unparsable action: {exc}", flags=("unparsable",))
    if len(acts) != 1:
        return wrong(f"{len(acts)} actions; one expected")
    act = acts[0]
    if act.kind != want:
        return wrong(f"action {act.kind} vs {want}")
    flags = ("type_match",)
    if want in ("click", "long_press", "double_click"):
        if act.point is None:
            return wrong("no point", flags=flags)
        if gold.get("bbox"):
            x1, y1, x2, y2 = (float(v) for v in gold["bbox"])
            hit = x1 <= act.point[0] <= x2 and y1 <= act.point[1] <= y2
        else:
            hit = math.dist(act.point, (float(gold["x"]), float(gold["y"]))) <= CLICK_RADIUS
        return Verdict(float(hit), hit, "point matches" if hit else "point off target", flags)
    if want == "type":
        same = (act.text or "").strip().lower() == str(gold.get("text", "")).strip().lower()
        return Verdict(float(same), same, "text" if same else "typed text differs", flags)
    if want == "scroll":
        same = (act.direction or "") == str(gold.get("direction", "")).lower()
        return Verdict(float(same), same, "direction" if same else "direction differs", flags)
    if want == "open":
        app = str(gold.get("app_name", "")).strip().lower()
        same = bool(app) and app in _app_of(pred).lower()
        return Verdict(float(same), same, "app" if same else "another app", flags)
    return right("action matches", flags=flags)


def type_match(pairs) -> dict[str, float]:
    """Type accuracy (action type right) beside step success rate (the whole step right)."""
    n = len(pairs)
    types = sum(1 for _, s in pairs if "type_match" in (s.flags or []))
    steps = sum(1 for _, s in pairs if s.correct and not s.missing)
    return {"type_accuracy": round(types / n, 6) if n else 0.0,
            "step_success": round(steps / n, 6) if n else 0.0}


register_metric("gui_action", gui_action, "gui", type_match,
                "action type + target (point in element / 14% radius), text, direction, app")
