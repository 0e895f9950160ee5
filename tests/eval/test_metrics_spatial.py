"""RefCOCO IoU ≥ 0.5 from published boxes, GUI points in boxes/polygons/refusals, and
AndroidControl-style action matching."""

import pytest
from metrickit import S, item, score

from thinkvl.eval.benchmarks import GROUNDING, GUI
from thinkvl.eval.metrics import get_metric
from thinkvl.eval.metrics.spatial import iou, to_grid

# -- RefCOCO and GUI -----------------------------------------------------------------------------

def test_refcoco_box_conversion_and_iou_threshold():
    assert to_grid([10, 20, 30, 40], 100, 200, "xywh") == [100, 100, 400, 300]
    assert to_grid([0.1, 0.2, 0.5, 0.6], 999, 999, "xyxy01") == pytest.approx([100, 200, 500, 600])
    it = item([0, 0, 100, 100], "refcoco", GROUNDING)
    assert score(it, "[0, 0, 100, 50]").correct  # IoU exactly 0.5 counts (>= 0.5)
    assert not score(it, "[0, 0, 100, 49]").correct
    assert not score(it, "[0, 0, 100, 100] and [200, 200, 300, 300]").correct
    assert iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(1 / 3)


def test_gui_point_in_box_polygon_and_refusal():
    box = item({"action": "click", "bbox": [100, 100, 300, 300]}, "gui_point", GUI)
    assert score(box, "[200, 250]").correct and score(box, "CLICK [150, 120]").correct
    assert score(box, "[120, 120, 280, 280]").correct  # a box counts by its centre
    assert not score(box, "[50, 200]").correct
    assert "unparsable" in score(box, "somewhere on the left").flags
    tri = item({"action": "click", "polygon": [0, 0, 100, 0, 0, 100]}, "gui_point", GUI)
    assert score(tri, "[20, 20]").correct and not score(tri, "[80, 80]").correct
    refuse = item({"action": "click", "refusal": True}, "gui_point", GUI)
    assert score(refuse, "The element does not exist.").correct
    assert score(refuse, "[-1, -1]").correct and not score(refuse, "[10, 10]").correct


def test_android_action_matching():
    click = item({"action_type": "click", "x": 500, "y": 500}, "gui_action", GUI)
    assert score(click, '{"action_type": "click", "x": 600, "y": 560}').correct  # within 14%
    far = score(click, '{"action_type": "click", "x": 700, "y": 500}')
    assert not far.correct and "type_match" in far.flags
    assert not score(click, '{"action_type": "long_press", "x": 500, "y": 500}').correct
    boxed = item({"action_type": "click", "x": 500, "y": 500, "bbox": [480, 480, 520, 520]},
                 "gui_action", GUI)
    assert not score(boxed, '{"action_type": "click", "x": 560, "y": 500}').correct
    typed = item({"action_type": "input_text", "text": "Hello"}, "gui_action", GUI)
    assert score(typed, '{"action_type": "input_text", "text": "hello "}').correct
    assert not score(typed, '{"action_type": "input_text", "text": "help"}').correct
    scroll = item({"action_type": "scroll", "direction": "down"}, "gui_action", GUI)
    assert score(scroll, '{"action_type": "scroll", "direction": "down"}').correct
    assert not score(scroll, '{"action_type": "scroll", "direction": "up"}').correct
    app = item({"action_type": "open_app", "app_name": "Gmail"}, "gui_action", GUI)
    assert score(app, '{"action_type": "open_app", "app_name": "gmail"}').correct
    agg = get_metric("gui_action").aggregate([(click, S(True, flags=["type_match"])),
                                              (click, S(False, flags=["type_match"])),
                                              (click, S(False))])
    assert agg == {"type_accuracy": pytest.approx(2 / 3, abs=1e-6),
                   "step_success": pytest.approx(1 / 3, abs=1e-6)}
