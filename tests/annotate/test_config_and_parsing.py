"""Label configs (from YAML, with readable errors), field values (lenient save, strict submit),
and the draft parser (forgiving of format, strict about content, never raising)."""

from __future__ import annotations

import pytest
from annotate_helpers import EXAMPLE_CONFIG
from hypothesis import given, settings
from hypothesis import strategies as st

from thinkvl.annotate.config import load_config, parse_config
from thinkvl.annotate.demo import DEFAULT_CONFIG
from thinkvl.annotate.drafts import answer_text, parse_draft, question
from thinkvl.annotate.errors import BadValue, ConfigError
from thinkvl.annotate.fields import clean, same


@pytest.fixture(scope="module")
def cfg():
    return load_config(EXAMPLE_CONFIG)


def test_example_config_is_the_packaged_default_and_has_the_issue_s_fields(cfg):
    assert load_config(DEFAULT_CONFIG) == cfg
    types = {f.name: f.type for f in cfg.fields}
    assert types == {"actions": "segments", "scene_text": "texts", "camera_motion": "label",
                     "shot_type": "label", "angle": "label", "composition": "label",
                     "caption": "caption"}
    assert {"static", "pan", "tilt", "zoom", "dolly", "tracking", "handheld"} == \
        set(cfg.field("camera_motion").labels)
    # time segments and camera motion make no sense for a still image
    assert [f.name for f in cfg.fields_for("image")] == [
        "scene_text", "shot_type", "angle", "composition", "caption"]


@pytest.mark.parametrize("text, expected", [
    ("name: x\nfields: [{name: a, type: label}]\n",
     "fields[0](a): Value error, field 'a' has type 'label' but no 'labels' list"),
    ("name: x\nfields: [{name: a, type: colour}]\n", "fields[0](a).type: Input should be"),
    ("name: x\nfields: [{name: a, type: caption}, {name: a, type: caption}]\n",
     "field name(s) used twice: a"),
    ("name: x\nfields: [{name: a, type: label, labels: [pan, Pan]}]\n",
     "label 'Pan' is listed twice"),
    ("name: x\nfields: [{name: a, type: caption, lables: [x]}]\n",
     "fields[0](a).lables: unknown key (check its spelling)"),
    ("name: x\nfields: [{name: Bad Name, type: caption}]\n", "is not a field name"),
    ("name: x\nfields: [{name: s, type: segments, media: [image]}]\n", "need a video"),
    ("name: x\nfields: []\n", "fields: List should have at least 1 item"),
    ("name: x\nmedia: {allowed: [exe]}\nfields: [{name: c, type: caption}]\n",
     "unknown upload type(s) ['exe']"),
    ("- just\n- a list\n", "expected a mapping"),
    ("name: x\nfields: [{name: a, type: caption}\n", "project.yaml:3: not valid YAML"),
])
def test_bad_configs_say_where_and_what(text, expected):
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "project.yaml")
    message = exc.value.message
    assert expected.replace("Value error, ", "") in message
    assert message.startswith("project.yaml")


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")


def test_lenient_save_keeps_half_typed_rows_and_strict_submit_refuses_them(cfg):
    seg = cfg.field("actions")
    half = [{"start": "1.5", "end": "", "action": "walks"}, {"start": None, "end": None}]
    assert clean(seg, half) == [{"start": 1.5, "end": None, "action": "walks"}]
    with pytest.raises(BadValue, match="needs both a start and an end"):
        clean(seg, half, strict=True, duration=4.0)
    with pytest.raises(BadValue, match="ends .* before it starts"):
        clean(seg, [{"start": 2, "end": 1, "action": "x"}], strict=True, duration=4.0)
    with pytest.raises(BadValue, match=r"\(actions\[0\].start\): expected a time in seconds"):
        clean(seg, [{"start": "soon", "end": 1, "action": "x"}])
    with pytest.raises(BadValue, match="finite number"):
        clean(seg, [{"start": float("nan"), "end": 1, "action": "x"}])
    rows = clean(seg, [{"start": 2, "end": 3, "action": " b  "}, {"start": 0, "end": 1,
                                                                  "action": "a"}])
    assert [r["action"] for r in rows] == ["a", "b"]  # sorted by time, spaces tidied
    texts = cfg.field("scene_text")
    assert clean(texts, [{"text": "STOP", "box": "[1, 2, 30, 40]"}])[0]["box"] == [1, 2, 30, 40]
    with pytest.raises(BadValue, match="0 ≤ x1 < x2 ≤ 1000"):
        clean(texts, [{"text": "STOP", "box": [50, 2, 30, 40]}])
    label = cfg.field("shot_type")
    assert clean(label, " Close-Up ") == "close-up"
    with pytest.raises(BadValue, match="unknown label 'macro'"):
        clean(label, "macro")
    with pytest.raises(BadValue, match="expected one of the labels"):
        clean(label, 3)


def test_same_ignores_spacing_case_and_row_order(cfg):
    seg = cfg.field("actions")
    a = [{"start": 0, "end": 1, "action": "Walks"}, {"start": 1, "end": 2, "action": "runs"}]
    b = [{"start": 1.0, "end": 2.0, "action": "runs "}, {"start": 0.0, "end": 1.0,
                                                          "action": "walks"}]
    assert same(seg, a, b)
    assert not same(seg, a, b[:1])
    assert same(cfg.field("caption"), None, "  ") and not same(cfg.field("caption"), None, "x")


def test_questions_name_the_labels(cfg):
    q = question(cfg.field("camera_motion"), "video")
    assert q.startswith("How does the camera move?") and "static, pan, tilt" in q
    assert "[x1,y1,x2,y2]" in question(cfg.field("scene_text"), "image")
    assert "START-END" in question(cfg.field("scene_text"), "video")


def test_label_drafts(cfg):
    shot = cfg.field("shot_type")
    assert parse_draft(shot, "<answer><|begin_of_box|>Extreme Close-Up<|end_of_box|></answer>") \
        == "extreme close-up"  # not "close-up", which it contains
    assert parse_draft(shot, "It is a wide shot, not a close-up.") == "wide"  # first mentioned
    assert parse_draft(shot, "medium-wide framing") is None  # no label as a whole word
    assert parse_draft(shot, "extreme close-up, close-up, medium, wide") is None  # the options
    assert parse_draft(shot, "<think>wide?</think><answer>medium</answer>") == "medium"


def test_segment_and_text_drafts(cfg):
    seg, texts = cfg.field("actions"), cfg.field("scene_text")
    out = "<answer>0:00.5 - 0:01.5: a man waves\n3s to 4s: sits down\n2-1: backwards\n" \
          "9-12: after the end; 1.0-2.0: 42</answer>"
    assert parse_draft(seg, out, duration=6.0) == [
        {"start": 0.5, "end": 1.5, "action": "a man waves"},
        {"start": 3.0, "end": 4.0, "action": "sits down"}]
    assert parse_draft(texts, '1-2: "EXIT" [100,200,300,400]\n2-3: [1,2,3,4]', "video", 5.0) \
        == [{"text": "EXIT", "start": 1.0, "end": 2.0, "box": [100, 200, 300, 400]}]
    assert parse_draft(texts, "OPEN 24H [10,10,900,200]\nno box here", "image") == [
        {"text": "OPEN 24H", "start": None, "end": None, "box": [10, 10, 900, 200]},
        {"text": "no box here", "start": None, "end": None, "box": None}]


def test_gibberish_gives_no_draft(cfg):
    junk = "\ufffd\ufffd\ufffd</think><answer>k9999k99p9p9pp<|image|></answer>"
    for f in cfg.fields:
        if f.type != "caption":
            assert parse_draft(f, junk, "video", 2.0) is None, f.name
    assert parse_draft(cfg.field("caption"), junk) is None  # fewer than 3 letters in words
    assert parse_draft(cfg.field("caption"), "<answer>A red square.</answer>") == "A red square."
    assert answer_text("<think>x</think>tail <|user|> text") == "tail text"


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_the_parser_never_raises(text):
    cfg = load_config(EXAMPLE_CONFIG)
    for f in cfg.fields:
        value = parse_draft(f, text, "video", 3.0)
        if value is not None:  # whatever it drafts is a valid value for the field
            assert clean(f, value, strict=True, duration=3.0) is not None
