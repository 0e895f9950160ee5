"""Parse GUI actions from three common spellings into one :class:`Action` shape — safely.

- AndroidWorld-style JSON: ``{"action_type": "click", "x": 500, "y": 300}``
- OSWorld-style pyautogui calls: ``pyautogui.click(500, 300)`` (parsed with ``ast``, each
  argument with ``ast.literal_eval``; any other statement makes the answer invalid)
- WebVoyager-style commands: ``CLICK [512, 300]``, ``TYPE [x, y] hello``, ``SCROLL down``

Nothing is ever evaluated. Coordinates are on the 0–1000 grid.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from dataclasses import dataclass
from typing import Any

from .base import describe

_ALIASES = {
    "click": "click",
    "tap": "click",
    "left_click": "click",
    "leftclick": "click",
    "double_click": "double_click",
    "doubleclick": "double_click",
    "double_tap": "double_click",
    "right_click": "right_click",
    "rightclick": "right_click",
    "long_press": "long_press",
    "longpress": "long_press",
    "type": "type",
    "input_text": "type",
    "input": "type",
    "write": "type",
    "typewrite": "type",
    "text": "type",
    "enter_text": "type",
    "scroll": "scroll",
    "swipe": "scroll",
    "hscroll": "scroll",
    "press": "press",
    "key": "press",
    "keyboard": "press",
    "keydown": "press",
    "hotkey": "hotkey",
    "navigate_back": "back",
    "back": "back",
    "go_back": "back",
    "navigate_home": "home",
    "home": "home",
    "open_app": "open",
    "open": "open",
    "launch": "open",
    "wait": "wait",
    "done": "done",
    "finish": "done",
    "status": "done",
    "answer": "answer",
    "moveto": "hover",
    "move_to": "hover",
    "hover": "hover",
    "drag": "drag",
    "dragto": "drag",
}


@dataclass(slots=True)
class Action:
    kind: str
    point: tuple[float, float] | None = None
    text: str | None = None
    direction: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.kind}
        if self.point is not None:
            out["point"] = [_num(v) for v in self.point]
        if self.text is not None:
            out["text"] = self.text
        if self.direction is not None:
            out["direction"] = self.direction
        return out


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


class ActionError(ValueError):
    """The box is not a well-formed action in any supported spelling."""


def canonical(kind: Any) -> str:
    key = str(kind).strip().lower().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(key, key)


def parse_actions(text: str) -> list[Action]:
    """All actions in the box (a valid answer has exactly one); raises ActionError."""
    text = text.strip().strip("`").strip()
    if text.startswith(("python\n", "python ")):
        text = text[6:].strip()
    try:
        if text[:1] in "{[":
            return _from_json(text)
        if "pyautogui" in text:
            return _from_pyautogui(text)
        return _from_commands(text)
    except ActionError:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise ActionError(f"malformed action: {exc}") from None


# ---------------------------------------------------------------- JSON


def _from_json(text: str) -> list[Action]:
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise ActionError("not valid JSON") from None
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(d, dict) for d in items):
        raise ActionError("JSON action must be an object (or a list of objects)")
    return [_from_mapping(d) for d in items]


def _from_mapping(d: dict[str, Any]) -> Action:
    kind = d.get("action_type", d.get("action", d.get("type")))
    if kind is None:
        raise ActionError("JSON action has no action_type/action field")
    point = None
    if "x" in d and "y" in d:
        point = _point([d["x"], d["y"]])
    else:
        for key in ("coordinate", "coordinates", "point", "position", "xy"):
            if key in d:
                point = _point(d[key])
                break
    text = d.get("text", d.get("value", d.get("content")))
    key = d.get("key", d.get("keys"))
    if key is not None and text is None:
        text = "+".join(map(str, key)) if isinstance(key, (list, tuple)) else str(key)
    direction = d.get("direction")
    return Action(
        canonical(kind),
        point,
        None if text is None else str(text),
        None if direction is None else str(direction).lower(),
    )


def _point(value: Any) -> tuple[float, float]:
    if isinstance(value, str):
        nums = re.findall(r"-?\d+(?:\.\d+)?", value)
        value = [float(n) for n in nums]
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ActionError(f"a point needs two coordinates, got {describe(value)}")
    try:
        x, y = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        raise ActionError(f"non-numeric point {describe(value)}") from None
    if not (0 <= x <= 1000 and 0 <= y <= 1000):
        raise ActionError(f"point {describe(value)} is outside the 0-1000 grid")
    return x, y


# ---------------------------------------------------------------- pyautogui


def _from_pyautogui(text: str) -> list[Action]:
    try:
        tree = ast.parse(textwrap.dedent(text), mode="exec")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise ActionError("not valid pyautogui code") from None
    calls = []
    for stmt in tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "pyautogui"
        ):
            raise ActionError("only pyautogui.<function>(literals) calls are accepted")
        try:
            args = [ast.literal_eval(a) for a in call.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
        except (ValueError, SyntaxError, TypeError, RecursionError):
            raise ActionError("pyautogui arguments must be literals") from None
        calls.append(_from_call(call.func.attr, args, kwargs))
    return _merge_click_then_type(calls)


def _from_call(fn: str, args: list[Any], kwargs: dict[str, Any]) -> Action:
    kind = canonical(fn)
    if kind in ("click", "double_click", "right_click", "hover", "long_press", "drag"):
        xs = [kwargs.get("x"), kwargs.get("y")] if "x" in kwargs else args[:2]
        return Action(kind, _point(xs) if len(xs) == 2 and None not in xs else None)
    if kind == "type":
        value = kwargs.get("message", args[0] if args else None)
        if isinstance(value, (list, tuple)):
            value = "".join(map(str, value))
        return Action("type", None, None if value is None else str(value))
    if kind == "scroll":
        amount = kwargs.get("clicks", args[0] if args else 0)
        return Action("scroll", None, None, "up" if float(amount) > 0 else "down")
    if kind in ("press", "hotkey"):
        keys = args or [kwargs.get("keys", "")]
        return Action(kind, None, "+".join(str(k) for k in keys))
    return Action(kind)


def _merge_click_then_type(calls: list[Action]) -> list[Action]:
    """``click(x, y)`` then ``write(text)`` is one "type into this field" action."""
    if (
        len(calls) == 2
        and calls[0].kind == "click"
        and calls[1].kind == "type"
        and calls[1].point is None
    ):
        return [Action("type", calls[0].point, calls[1].text)]
    return calls


# ---------------------------------------------------------------- commands

_COMMAND_RE = re.compile(
    r"^\s*([A-Za-z_]+)\s*(?:\[\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\])?\s*[;:,]?\s*(.*?)\s*$",
    re.DOTALL,
)


_SPLIT_RE = re.compile(
    r"\n|;\s*(?=(?:"
    + "|".join(sorted({k.upper() for k in _ALIASES}, key=len, reverse=True))
    + r")(?:\s|\[|$))"
)


def _from_commands(text: str) -> list[Action]:
    lines = [ln for ln in _SPLIT_RE.split(text) if ln.strip()]
    if not lines:
        raise ActionError("empty action")
    return [_from_command(ln) for ln in lines]


def _from_command(line: str) -> Action:
    m = _COMMAND_RE.match(line)
    if not m:
        raise ActionError(f"not an action command: {line[:60]!r}")
    name, x, y, rest = m.groups()
    kind = canonical(name)
    if kind not in set(_ALIASES.values()):
        raise ActionError(f"unknown action {name!r}")
    point = _point([x, y]) if x is not None else None
    rest = rest.strip()
    if rest.startswith("[") and point is None and kind != "type":
        rest = rest.strip("[]").strip()
    if rest[:1] in "\"'" and rest[-1:] == rest[:1] and len(rest) >= 2:
        rest = rest[1:-1]
    if kind == "scroll":
        return Action(kind, point, None, rest.lower() or None)
    if kind in ("click", "double_click", "right_click", "long_press", "hover"):
        if rest:
            raise ActionError(f"unexpected text after {name}: {rest[:40]!r}")
        return Action(kind, point)
    return Action(kind, point, rest or None)
