"""Field values: checking them, putting them in one canonical form, comparing and showing them.

Shapes (JSON): ``segments`` → ``[{"start": s, "end": s, "action": str}]``; ``texts`` →
``[{"text": str, "start": s|null, "end": s|null, "box": [x1, y1, x2, y2]|null}]`` (box in
0–1000 coordinates, thinkvl's grounding convention); ``label`` → one of the field's labels or
null; ``caption`` → a string or null. Empty lists and blank strings mean "nothing".

Saving is lenient (``strict=False``): a half-typed row is kept so that nothing typed is lost,
only wrong *types* and unknown labels are refused. Submitting is strict: every row complete,
start before end, times within the media's duration.
"""

from __future__ import annotations

import math
from typing import Any

from thinkvl.annotate.config import FieldSpec
from thinkvl.annotate.errors import BadValue

MAX_TEXT = 4000
MAX_ROWS = 500
TIME_SLACK = 0.05  # seconds past the end of the media still accepted (frame rounding)


def clean(spec: FieldSpec, value: Any, *, strict: bool = False,
          duration: float | None = None) -> Any:
    """The canonical form of ``value`` for ``spec``; BadValue names the field path and problem."""
    fn = {"segments": _segments, "texts": _texts, "label": _label, "caption": _caption}[spec.type]
    return fn(spec, value, strict, duration)


def empty(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def same(spec: FieldSpec, a: Any, b: Any) -> bool:
    """Whether two values say the same thing (times to 0.01 s, text up to spacing and case)."""
    return _key(spec, a) == _key(spec, b)


def _key(spec: FieldSpec, value: Any) -> Any:
    if empty(value):
        return None
    if spec.type in ("label", "caption"):
        return " ".join(str(value).split()).casefold()
    rows = []
    for row in value:
        rows.append(tuple(
            (k, _t(row.get(k)) if k in ("start", "end") else
             tuple(row.get(k) or ()) if k == "box" else " ".join(str(row.get(k) or "").split())
             .casefold())
            for k in sorted(row)))
    return tuple(sorted(rows, key=repr))


def _t(x: Any) -> float | None:
    return None if x is None else round(float(x), 2)


def display(spec: FieldSpec, value: Any) -> str:
    """A one-line human reading of a value (dashboard, export captions)."""
    if empty(value):
        return "—"
    if spec.type == "segments":
        return "; ".join(f"{_fmt(r.get('start'))}–{_fmt(r.get('end'))} {r.get('action') or ''}"
                         .strip() for r in value)
    if spec.type == "texts":
        parts = []
        for r in value:
            span = f" @ {_fmt(r.get('start'))}–{_fmt(r.get('end'))}" \
                if r.get("start") is not None else ""
            parts.append(f"“{r.get('text') or ''}”{span}")
        return "; ".join(parts)
    return str(value)


def _fmt(t: Any) -> str:
    return "?" if t is None else f"{float(t):.2f}s"


# -- per type ----------------------------------------------------------------------------------

def _bad(spec: FieldSpec, where: str, problem: str) -> BadValue:
    path = f"{spec.name}{where}"
    return BadValue(f"{spec.title} ({path}): {problem}", field=spec.name, path=path)


def _label(spec: FieldSpec, value: Any, strict: bool, duration: float | None) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise _bad(spec, "", f"expected one of the labels, got {type(value).__name__}")
    wanted = " ".join(value.split()).casefold()
    for label in spec.labels:
        if label.casefold() == wanted:
            return label
    raise _bad(spec, "", f"unknown label {value!r} (expected one of: {', '.join(spec.labels)})")


def _caption(spec: FieldSpec, value: Any, strict: bool, duration: float | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(spec, "", f"expected text, got {type(value).__name__}")
    text = value.replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT:
        raise _bad(spec, "", f"too long ({len(text)} characters, at most {MAX_TEXT})")
    return text or None


def _rows(spec: FieldSpec, value: Any) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(spec, "", f"expected a list of rows, got {type(value).__name__}")
    if len(value) > MAX_ROWS:
        raise _bad(spec, "", f"too many rows ({len(value)}, at most {MAX_ROWS})")
    for i, row in enumerate(value):
        if not isinstance(row, dict):
            raise _bad(spec, f"[{i}]", f"expected an object, got {type(row).__name__}")
    return value


def _time(spec: FieldSpec, where: str, x: Any) -> float | None:
    if x is None or (isinstance(x, str) and not x.strip()):
        return None
    if isinstance(x, bool):
        raise _bad(spec, where, "expected a time in seconds, got a boolean")
    try:
        t = float(x)
    except (TypeError, ValueError):
        raise _bad(spec, where, f"expected a time in seconds, got {x!r}") from None
    if not math.isfinite(t) or t < 0:
        raise _bad(spec, where, f"a time must be a finite number ≥ 0, got {x!r}")
    return round(t, 3)


def _str(spec: FieldSpec, where: str, x: Any) -> str:
    if x is None:
        return ""
    if not isinstance(x, str):
        raise _bad(spec, where, f"expected text, got {type(x).__name__}")
    if len(x) > MAX_TEXT:
        raise _bad(spec, where, f"too long ({len(x)} characters, at most {MAX_TEXT})")
    return " ".join(x.split())


def _span(spec: FieldSpec, where: str, start: float | None, end: float | None, strict: bool,
          duration: float | None, required: bool) -> None:
    if not strict:
        return
    if required and (start is None or end is None):
        raise _bad(spec, where, "needs both a start and an end time")
    if (start is None) != (end is None):
        raise _bad(spec, where, "give both a start and an end time, or neither")
    if start is not None and end is not None:
        if end <= start:
            raise _bad(spec, where, f"ends ({end:.2f}s) before it starts ({start:.2f}s)")
        if duration is not None and end > duration + TIME_SLACK:
            raise _bad(spec, where, f"ends at {end:.2f}s, after the end of the media "
                       f"({duration:.2f}s)")


def _segments(spec: FieldSpec, value: Any, strict: bool, duration: float | None) -> list[dict]:
    out = []
    for i, row in enumerate(_rows(spec, value)):
        start = _time(spec, f"[{i}].start", row.get("start"))
        end = _time(spec, f"[{i}].end", row.get("end"))
        action = _str(spec, f"[{i}].action", row.get("action"))
        if not strict and start is None and end is None and not action:
            continue  # an untouched new row
        _span(spec, f"[{i}]", start, end, strict, duration, required=True)
        if strict and not action:
            raise _bad(spec, f"[{i}].action", "describe the action")
        out.append({"start": start, "end": end, "action": action})
    return sorted(out, key=lambda r: (r["start"] is None, r["start"] or 0.0, r["end"] or 0.0))


def _texts(spec: FieldSpec, value: Any, strict: bool, duration: float | None) -> list[dict]:
    out = []
    for i, row in enumerate(_rows(spec, value)):
        text = _str(spec, f"[{i}].text", row.get("text"))
        start = _time(spec, f"[{i}].start", row.get("start"))
        end = _time(spec, f"[{i}].end", row.get("end"))
        box = _box(spec, f"[{i}].box", row.get("box"))
        if not strict and not text and start is None and end is None and box is None:
            continue
        _span(spec, f"[{i}]", start, end, strict, duration, required=duration is not None)
        if strict and not text:
            raise _bad(spec, f"[{i}].text", "type the text as it appears")
        out.append({"text": text, "start": start, "end": end, "box": box})
    return sorted(out, key=lambda r: (r["start"] is None, r["start"] or 0.0, r["text"]))


def _box(spec: FieldSpec, where: str, box: Any) -> list[int] | None:
    if box is None or box == "" or box == []:
        return None
    if isinstance(box, str):  # "x1, y1, x2, y2" as typed
        box = [p for p in box.replace("[", " ").replace("]", " ").replace(",", " ").split()]
    if not isinstance(box, list) or len(box) != 4:
        raise _bad(spec, where, "a box is four numbers x1, y1, x2, y2 (0–1000)")
    try:
        nums = [round(float(v)) for v in box]
    except (TypeError, ValueError):
        raise _bad(spec, where, f"box values must be numbers, got {box!r}") from None
    x1, y1, x2, y2 = nums
    if not all(0 <= v <= 1000 for v in nums) or x2 <= x1 or y2 <= y1:
        raise _bad(spec, where, f"box {nums} must satisfy 0 ≤ x1 < x2 ≤ 1000 and "
                   "0 ≤ y1 < y2 ≤ 1000")
    return nums
