"""Grounding and GUI loaders on rows in their published hub schemas: RefCOCO (pixel
[x, y, w, h] boxes → the 0–1000 grid), ScreenSpot (0–1 boxes), ScreenSpot-Pro (pixel
[x1, y1, x2, y2]), OSWorld-G (bbox / polygon / refusal), AndroidControl (episodes, steps)."""

import json

import pytest
from published import hub_parquet, img, png, texts, write_jsonl

from thinkvl.eval.benchmarks import load_benchmark
from thinkvl.eval.scoring import Scorer
from thinkvl.format import make_response


@pytest.fixture(scope="module")
def scorer():
    s = Scorer()
    yield s
    s.close()


def test_refcoco_one_item_per_expression(tmp_path, scorer):
    hub_parquet(tmp_path / "refcoco" / "data" / "val-00000-of-00001.parquet", [
        {"question_id": "42", "image": img(size=(200, 100)), "question": "caption the area",
         "answer": ["the man on the left", "left guy"], "segmentation": [0.0, 0.0],
         "bbox": [20.0, 10.0, 60.0, 50.0], "iscrowd": 0, "file_name": "COCO_1.jpg"}])
    b = load_benchmark("refcoco", data_root=tmp_path)
    assert [i.id for i in b.items] == ["42-0", "42-1"]
    it = b.items[0]
    assert it.answer == [100.0, 100.0, 400.0, 600.0]  # x / 200 * 1000, y / 100 * 1000
    assert "the man on the left" in texts(it) and it.metric == "refcoco"
    assert scorer.score(it, make_response("[100, 100, 400, 600]")).correct
    assert scorer.score(it, "<think>x</think>It is at [110, 120, 390, 590].").correct
    assert not scorer.score(it, make_response("[300, 100, 600, 600]")).correct  # IoU 1/3


def test_screenspot_normalised_and_pro_pixel_boxes(tmp_path, scorer):
    hub_parquet(tmp_path / "ss" / "test.parquet", [
        {"file_name": "web_1.png", "bbox": [0.1, 0.2, 0.3, 0.4], "instruction": "open menu",
         "data_type": "icon", "data_source": "web", "image": img(size=(100, 50))}])
    (it,) = load_benchmark(f"screenspot:{tmp_path / 'ss'}").items
    assert it.answer["bbox"] == pytest.approx([100, 200, 300, 400])
    assert it.categories == {"data_type": "icon", "data_source": "web"}
    assert scorer.score(it, make_response("[200, 300]")).correct
    assert not scorer.score(it, make_response("[500, 300]")).correct
    hub_parquet(tmp_path / "pro" / "test.parquet", [
        {"id": "p1", "img_size": [1000, 500], "bbox": [100, 100, 300, 200],
         "instruction": "click save", "ui_type": "text", "group": "Office",
         "application": "word", "platform": "windows", "image": img()}])
    (pro,) = load_benchmark(f"screenspot_pro:{tmp_path / 'pro'}").items
    assert pro.answer["bbox"] == pytest.approx([100, 200, 300, 400])


def test_osworld_g_kinds(tmp_path, scorer):
    base = {"image": img(size=(100, 100)), "image_size": [100, 100]}
    hub_parquet(tmp_path / "og" / "test.parquet", [
        {**base, "id": "a", "instruction": "the ok button", "box_type": "bbox",
         "box_coordinates": [10, 10, 20, 20]},
        {**base, "id": "b", "instruction": "the triangle", "box_type": "polygon",
         "box_coordinates": [0, 0, 50, 0, 0, 50]},
        {**base, "id": "c", "instruction": "the purple unicorn", "box_type": "refusal",
         "box_coordinates": []}])
    box, poly, refuse = load_benchmark(f"osworld_g:{tmp_path / 'og'}").items
    assert box.answer["bbox"] == [100, 100, 300, 300]
    assert scorer.score(box, make_response("[200, 200]")).correct
    assert scorer.score(poly, make_response("[100, 100]")).correct
    assert not scorer.score(poly, make_response("[400, 400]")).correct
    assert scorer.score(refuse, make_response("not present")).correct


def test_androidcontrol_episodes_and_steps(tmp_path, scorer):
    actions = [json.dumps({"action_type": "click", "x": 540, "y": 1200}),
               json.dumps({"action_type": "input_text", "text": "coffee"})]
    hub_parquet(tmp_path / "ac" / "test.parquet", [
        {"episode_id": 5, "goal": "Search for coffee", "screenshots": [img(), img("blue")],
         "screenshot_widths": [1080, 1080], "screenshot_heights": [2400, 2400],
         "actions": actions, "step_instructions": ["Tap the search bar", "Type coffee"]}],
        images=())
    b = load_benchmark(f"androidcontrol:{tmp_path / 'ac'}")
    click, typed = b.items
    assert click.id == "5-0" and click.answer["x"] == 500.0 and click.answer["y"] == 500.0
    assert "Step: Tap the search bar" in texts(click)
    tap = '{"action_type": "click", "x": 520, "y": 480}'
    assert scorer.score(click, make_response(tap)).correct
    write = '{"action_type": "input_text", "text": "Coffee"}'
    assert scorer.score(typed, make_response(write)).correct
    high = load_benchmark(f"androidcontrol_high:{tmp_path / 'ac'}").items[0]
    assert "Step:" not in texts(high)
    shot = tmp_path / "steps" / "s.png"
    shot.parent.mkdir()
    shot.write_bytes(png(size=(200, 400)))
    write_jsonl(tmp_path / "steps" / "test.jsonl", [
        {"episode_id": 9, "step_id": 2, "screenshot": "s.png", "goal": "Go back",
         "step_instruction": "Press back", "action": {"action_type": "navigate_back"}}])
    (back,) = load_benchmark(f"androidcontrol:{tmp_path / 'steps'}").items
    assert back.id == "9-2" and back.group == "navigate_back"
    assert scorer.score(back, make_response('{"action_type": "navigate_back"}')).correct
