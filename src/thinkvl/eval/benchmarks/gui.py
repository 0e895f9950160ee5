"""GUI agents, offline: grounding (ScreenSpot, ScreenSpot-v2, ScreenSpot-Pro, OSWorld-G) and
step-wise action matching (AndroidControl).

Every target is converted to thinkvl's 0–1000 grid with the screenshot's size, and the model
answers with a point (``[x, y]``, or ``CLICK [x, y]``; a box counts by its centre).
Not supported: online task success (OSWorld, AndroidWorld need live environments) and
AndroidControl's accessibility-tree element matching (a click counts when inside the
target's box if the row gives one, else within 14% of the screen of the gold point).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from thinkvl.eval.benchmarks.base import GUI, BenchmarkSpec, EvalItem, register, user
from thinkvl.eval.benchmarks.rows import (
    RowError,
    as_list,
    field,
    image_ref,
    image_size,
    read_rows,
    roots_for,
)
from thinkvl.eval.metrics.spatial import to_grid

POINT_PROMPT = ("Where should I click to do this: {instruction}\nAnswer with the point "
                "[x, y] on a 0-1000 grid of the screenshot.")


def _size(row: dict, ref: str, where: str) -> tuple[float, float]:
    for key in ("img_size", "image_size"):
        if row.get(key) is not None:
            w, h = (float(v) for v in as_list(row[key], where))
            return w, h
    if row.get("image_width") and row.get("image_height"):
        return float(row["image_width"]), float(row["image_height"])
    return image_size(ref)


def _grounding(path: Path, bench: str, split: str, pixel_format: str) -> Iterator[EvalItem]:
    for file, n, row in read_rows(path, split=split):
        where = f"{file} row {n}"
        ref = image_ref(field(row, "image", "img_filename", "file_name", where=where),
                        roots_for(file, path), where)
        if ref is None:
            raise RowError(f"{where}: no screenshot")
        width, height = _size(row, ref, where)
        box = [float(v) for v in as_list(field(row, "bbox", where=where), where)]
        fmt = "xyxy01" if box and max(box) <= 1.0 else pixel_format
        try:
            gold = to_grid(box, width, height, fmt)
        except ValueError as exc:
            raise RowError(f"{where}: field 'bbox': {exc}") from None
        instr = str(field(row, "instruction", where=where))
        text = POINT_PROMPT.format(instruction=instr)
        cats = {k: str(row[k]) for k in ("data_type", "data_source", "ui_type", "platform",
                                         "application", "group") if row.get(k)}
        yield EvalItem(id=str(row.get("id") or f"{Path(str(row.get('file_name') or n)).stem}-{n}"),
                       bench=bench, family=GUI, domain="gui",
                       prompt=user([{"type": "image", "image": ref},
                                    {"type": "text", "text": text}]),
                       answer={"action": "click", "bbox": [round(v, 3) for v in gold]},
                       question=text, base_dir=str(file.parent),
                       group=cats.get("data_source") or cats.get("group") or "all",
                       metric="gui_point", categories=cats)


def load_screenspot(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """ScreenSpot (``rootsautomation/ScreenSpot``, split ``test``): ``file_name, bbox``
    (normalised 0–1 ``[x1, y1, x2, y2]``; the original JSON's pixel ``[x, y, w, h]`` also
    read), ``instruction, data_type`` (text/icon), ``data_source``, ``image``. Point in box."""
    yield from _grounding(path, "screenspot", "test", "xywh")


def load_screenspot_v2(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """ScreenSpot-v2 (``HongxinLi/ScreenSpot_v2``): as ScreenSpot, pixel boxes ``[x, y, w, h]``."""
    yield from _grounding(path, "screenspot_v2", "test", "xywh")


def load_screenspot_pro(path: Path, skipped: dict[str, int] | None = None
                        ) -> Iterator[EvalItem]:
    """ScreenSpot-Pro (``TIGER-Lab/ScreenSpot-Pro``): pixel ``[x1, y1, x2, y2]`` boxes with
    ``img_size``; by ``ui_type``, ``group`` and ``application``."""
    yield from _grounding(path, "screenspot_pro", "test", "xyxy")


def load_osworld_g(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """OSWorld-G (``MMInstruction/OSWorld-G``, split ``test``): ``id, instruction, image,
    image_size, box_type`` (bbox | polygon | refusal), ``box_coordinates`` (pixel
    ``[x, y, w, h]`` for bbox, a flat polygon otherwise). Point in box / polygon; a refusal
    item is right only when the answer refuses."""
    for file, n, row in read_rows(path, split="test"):
        where = f"{file} row {n}"
        ref = image_ref(field(row, "image", "image_path", where=where), roots_for(file, path),
                        where)
        if ref is None:
            raise RowError(f"{where}: no screenshot")
        width, height = _size(row, ref, where)
        kind = str(field(row, "box_type", where=where)).lower()
        coords = [float(v) for v in as_list(row.get("box_coordinates"), where)]
        if kind == "bbox":
            gold: dict[str, Any] = {"bbox": [round(v, 3) for v in
                                             to_grid(coords, width, height, "xywh")]}
        elif kind == "polygon":
            gold = {"polygon": [round(v / (width if i % 2 == 0 else height) * 1000, 3)
                                for i, v in enumerate(coords)]}
        elif kind == "refusal":
            gold = {"refusal": True}
        else:
            raise RowError(f"{where}: box_type {kind!r} is not bbox, polygon or refusal")
        instr = str(field(row, "instruction", where=where))
        text = POINT_PROMPT.format(instruction=instr) + (
            " If the element does not exist, say so.")
        yield EvalItem(id=str(row.get("id") or n), bench="osworld_g", family=GUI, domain="gui",
                       prompt=user([{"type": "image", "image": ref},
                                    {"type": "text", "text": text}]),
                       answer={"action": "click", **gold}, question=text,
                       base_dir=str(file.parent), group=kind, metric="gui_point",
                       categories={"box_type": kind})


ACTION_PROMPT = (
    "You operate an Android phone. Goal: {goal}\n{step}Give the next action as one JSON "
    "object: {{\"action_type\": \"click\", \"x\": X, \"y\": Y}} with X, Y on a 0-1000 grid, "
    "or long_press (x, y), input_text (text), scroll (direction: up/down/left/right), "
    "open_app (app_name), navigate_back, navigate_home, wait.")


def _action(raw: Any, width: float, height: float, where: str) -> dict[str, Any]:
    act = json.loads(raw) if isinstance(raw, str) else dict(raw)
    if "action_type" not in act:
        raise RowError(f"{where}: action {raw!r} has no action_type")
    if act.get("x") is not None and act.get("y") is not None:
        act["x"] = round(float(act["x"]) / width * 1000, 3)
        act["y"] = round(float(act["y"]) / height * 1000, 3)
    return act


def _android(path: Path, high_level: bool) -> Iterator[EvalItem]:
    bench = "androidcontrol_high" if high_level else "androidcontrol"
    for file, n, row in read_rows(path, split="test"):
        where = f"{file} row {n}"
        roots = roots_for(file, path)
        goal = str(field(row, "goal", where=where))
        if "actions" in row:  # one episode per row: the published TFRecord fields
            shots = as_list(field(row, "screenshots", where=where), where)
            acts = as_list(row["actions"], where)
            steps = as_list(row.get("step_instructions"), where)
            widths = as_list(row.get("screenshot_widths"), where)
            heights = as_list(row.get("screenshot_heights"), where)
            episode = str(row.get("episode_id", n))
            todo = [(i, shots[i], acts[i], steps[i] if i < len(steps) else "",
                     widths[i] if i < len(widths) else None,
                     heights[i] if i < len(heights) else None) for i in range(len(acts))]
        else:  # one step per row
            episode = str(row.get("episode_id", n))
            todo = [(int(row.get("step_id", row.get("step", 0)) or 0),
                     field(row, "screenshot", "image", where=where),
                     field(row, "action", where=where), row.get("step_instruction") or "",
                     row.get("screenshot_width"), row.get("screenshot_height"))]
        for i, shot, act, step, w, h in todo:
            w_ = f"{where} step {i}"
            ref = image_ref(shot, roots, w_)
            if ref is None:
                raise RowError(f"{w_}: no screenshot")
            width, height = (float(w), float(h)) if w and h else image_size(ref)
            gold = _action(act, width, height, w_)
            step_txt = "" if high_level or not step else f"Step: {step}\n"
            text = ACTION_PROMPT.format(goal=goal, step=step_txt)
            yield EvalItem(id=f"{episode}-{i}", bench=bench, family=GUI, domain="gui",
                           prompt=user([{"type": "image", "image": ref},
                                        {"type": "text", "text": text}]),
                           answer=gold, question=text, base_dir=str(file.parent),
                           group=str(gold["action_type"]), metric="gui_action",
                           categories={"action_type": str(gold["action_type"])})


def load_androidcontrol(path: Path, skipped: dict[str, int] | None = None
                        ) -> Iterator[EvalItem]:
    """AndroidControl (low level: goal + step instruction) from its published episode fields
    (``episode_id, goal, screenshots, screenshot_widths, screenshot_heights, actions`` (JSON
    strings, pixel x/y), ``step_instructions``) exported to parquet/JSON, or one step per
    row (``episode_id, step_id, screenshot, goal, step_instruction, action``). Step success
    and type accuracy, by action type."""
    yield from _android(path, high_level=False)


def load_androidcontrol_high(path: Path, skipped: dict[str, int] | None = None
                             ) -> Iterator[EvalItem]:
    """AndroidControl high level: the goal only."""
    yield from _android(path, high_level=True)


for _spec in (
    BenchmarkSpec("screenspot", load_screenspot, "screenspot", GUI, "ScreenSpot", split="test",
                  metric="gui_point"),
    BenchmarkSpec("screenspot_v2", load_screenspot_v2, "screenspot_v2", GUI, "ScreenSpot-v2",
                  split="test", metric="gui_point"),
    BenchmarkSpec("screenspot_pro", load_screenspot_pro, "screenspot_pro", GUI,
                  "ScreenSpot-Pro", split="test", metric="gui_point"),
    BenchmarkSpec("osworld_g", load_osworld_g, "osworld_g", GUI, "OSWorld-G", split="test",
                  metric="gui_point"),
    BenchmarkSpec("androidcontrol", load_androidcontrol, "androidcontrol", GUI,
                  "AndroidControl (low level)", split="test", metric="gui_action"),
    BenchmarkSpec("androidcontrol_high", load_androidcontrol_high, "androidcontrol", GUI,
                  "AndroidControl (high level)", split="test", metric="gui_action"),
):
    register(_spec)
