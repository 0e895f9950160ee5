"""Record validation: every kind's required fields, media checks, and every problem named."""

from __future__ import annotations

import base64
import pickle
from pathlib import Path

import pytest

from thinkvl.data.schema import (
    Problem,
    RecordError,
    detect_kind,
    errors_only,
    validate_record,
)
from thinkvl.format import make_response

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478"
    "9c6360000002000154a24f5d0000000049454e44ae426082"
)
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()


@pytest.fixture()
def media(tmp_path: Path) -> Path:
    (tmp_path / "img.png").write_bytes(PNG)
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "0001.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "empty_frames").mkdir()
    return tmp_path


def user(*parts: dict | str) -> dict:
    if len(parts) == 1 and isinstance(parts[0], str):
        return {"role": "user", "content": parts[0]}
    return {"role": "user", "content": list(parts)}


def img(ref: str = "img.png") -> dict:
    return {"type": "image", "image": ref}


def txt(text: str) -> dict:
    return {"type": "text", "text": text}


def sft(content, **kw) -> dict:
    rec = {"id": "s1", "domain": "counting",
           "messages": [user(img(), txt("How many?")), {"role": "assistant", "content": content}]}
    rec.update(kw)
    return rec


def rl(**kw) -> dict:
    rec = {"id": "r1", "domain": "math", "prompt": [user(img(), txt("2+2?"))], "answer": 4}
    rec.update(kw)
    return rec


def fields(problems: list[Problem]) -> dict[str, str]:
    return {p.field: p.message for p in errors_only(problems)}


# -- valid records -----------------------------------------------------------------------------


@pytest.mark.parametrize("rec", [
    pytest.param({"id": "p1", "kind": "caption", "messages": [
        user(img(), txt("Describe.")), {"role": "assistant", "content": "A dot."}]}, id="caption"),
    pytest.param({"id": "p2", "kind": "text", "text": "plain prose"}, id="text"),
    pytest.param({"id": "p3", "kind": "interleaved", "images": ["img.png", PNG_URI], "messages": [
        user({"type": "image"}, txt("then"), {"type": "image"})]}, id="interleaved-placeholders"),
    pytest.param({"id": "p4", "kind": "video", "messages": [
        user({"type": "video", "video": "clip.mp4"}, txt("what happens?"))]}, id="video-file"),
    pytest.param({"id": "p5", "kind": "video", "video": "frames", "messages": [
        user(txt("frames"))]}, id="video-frames-dir"),
    pytest.param({"id": "p6", "kind": "video", "messages": [
        user({"type": "video", "video": ["img.png", "img.png"]})]}, id="video-frame-list"),
    pytest.param(sft(make_response("3", think="one, two, three")), id="sft"),
    pytest.param(sft(make_response("3")), id="sft-nothink-empty-think"),
    pytest.param(sft([txt(make_response("3", think="x"))]), id="sft-text-parts"),
    pytest.param(sft(make_response("3", think="x"),
                     messages=[{"role": "system", "content": "Be careful."},
                               user(img(PNG_URI), txt("How many? /nothink")),
                               {"role": "assistant", "content": make_response("3")}]),
                 id="sft-system-data-uri"),
    pytest.param(rl(), id="rl"),
    pytest.param(rl(answer={"boxes": [[1, 2, 3, 4]]}, difficulty="hard", meta={"src": "x"}),
                 id="rl-structured-answer"),
    pytest.param(rl(answer=0, difficulty=3), id="rl-falsy-answer"),
])
def test_valid_records_have_no_errors(rec: dict, media: Path) -> None:
    assert errors_only(validate_record(rec, base_dir=media)) == []


def test_detect_kind() -> None:
    assert detect_kind(rl()) == "rl"
    assert detect_kind(sft("x")) == "sft"
    assert detect_kind({"id": "a", "kind": "text", "text": "t"}) == "pretrain"
    assert detect_kind({"id": "a", "text": "t"}) == "pretrain"
    assert detect_kind({"id": "a", "messages": []}) is None


# -- problems ----------------------------------------------------------------------------------


def test_missing_and_wrong_typed_fields_are_all_reported(media: Path) -> None:
    rec = {"domain": 3, "prompt": "not a list", "difficulty": True, "meta": [1]}
    got = fields(validate_record(rec, base_dir=media))
    assert set(got) == {"id", "domain", "prompt", "answer", "difficulty", "meta"}
    assert "missing" in got["id"] and "got integer" in got["domain"]
    assert "got string" in got["prompt"] and "got boolean" in got["difficulty"]


def test_rl_null_answer_and_assistant_in_prompt(media: Path) -> None:
    rec = rl(answer=None, prompt=[user("q"), {"role": "assistant", "content": "a"}])
    got = fields(validate_record(rec, base_dir=media))
    assert "null" in got["answer"]
    assert "not allowed" in got["prompt[1].role"]


def test_message_level_problems(media: Path) -> None:
    rec = sft(make_response("1", think="x"), messages=[
        {"role": "robot", "content": "hi"},
        {"role": "user", "content": [img("missing.png"), {"type": "audio", "audio": "a.wav"},
                                     {"type": "text", "text": 5}, "bare string"]},
        {"content": "no role"},
        {"role": "assistant", "content": make_response("1", think="x")},
    ])
    got = fields(validate_record(rec, base_dir=media))
    assert "invalid role 'robot'" in got["messages[0].role"]
    assert "image file not found" in got["messages[1].content[0].image"]
    assert "unknown content type 'audio'" in got["messages[1].content[1].type"]
    assert "expected a string, got integer" in got["messages[1].content[2].text"]
    assert "content part object" in got["messages[1].content[3]"]
    assert "missing" in got["messages[2].role"]


def test_sft_last_message_must_be_assistant(media: Path) -> None:
    rec = sft("x", messages=[user("q")])
    got = fields(validate_record(rec, base_dir=media))
    assert "last message must be the assistant" in got["messages[0].role"]


@pytest.mark.parametrize("content,names", [
    ("just 3", ["no_think", "no_answer"]),
    ("<think>a</think><answer>3</answer>", ["no_box"]),
    ("<think>a</think><answer><|begin_of_box|>1<|end_of_box|> or "
     "<|begin_of_box|>2<|end_of_box|></answer>", ["multiple_boxes"]),
    ("<think>a", ["unclosed_think"]),
    ([txt("<think></think><answer>3</answer>")], ["no_box"]),
])
def test_sft_response_format_names_parser_problems(content, names, media: Path) -> None:
    msg = fields(validate_record(sft(content), base_dir=media))["messages[1].content"]
    for name in names:
        assert name in msg


def test_assistant_content_may_not_hold_images(media: Path) -> None:
    got = fields(validate_record(sft([img()]), base_dir=media))
    assert "only hold text" in got["messages[1].content[0]"]


@pytest.mark.parametrize("ref,expect", [
    ("data:image/png;base64,@@@", "not valid base64"),
    ("data:image/png;base64," + base64.b64encode(b"not an image at all").decode(),
     "known image format"),
    ("data:text/plain;base64," + base64.b64encode(PNG).decode(), "expected image/*"),
    ("data:image/png," + "abc", "not base64-encoded"),
    ("https://example.com/a.png", "remote media"),
    ("", "empty string"),
])
def test_bad_image_references(ref: str, expect: str, media: Path) -> None:
    got = fields(validate_record(rl(prompt=[user(img(ref))]), base_dir=media))
    assert expect in got["prompt[0].content[0].image"]


@pytest.mark.parametrize("ref,expect", [
    ("nope.mp4", "video not found"),
    ("img.png", "not a video file"),
    ("empty_frames", "no image files"),
    ([], "empty list"),
])
def test_bad_video_references(ref, expect: str, media: Path) -> None:
    rec = {"id": "v", "kind": "video", "messages": [user({"type": "video", "video": ref})]}
    got = fields(validate_record(rec, base_dir=media))
    assert expect in got["messages[0].content[0].video"]


def test_pretrain_problems(media: Path) -> None:
    assert "unknown pre-training kind" in fields(validate_record(
        {"id": "a", "kind": "poem", "text": "x"}, base_dir=media))["kind"]
    assert "missing" in fields(validate_record(
        {"id": "a", "kind": "text"}, base_dir=media))["text"]
    assert "required for kind 'caption'" in fields(validate_record(
        {"id": "a", "kind": "caption"}, base_dir=media))["messages"]
    assert "needs at least one image" in fields(validate_record(
        {"id": "a", "kind": "caption", "messages": [user("no image")]}, base_dir=media))["messages"]
    assert "2 image placeholder(s) but 1" in fields(validate_record(
        {"id": "a", "kind": "interleaved", "images": ["img.png"],
         "messages": [user({"type": "image"}, {"type": "image"})]}, base_dir=media))["messages"]


def test_unknown_domain_is_a_warning_not_an_error(media: Path) -> None:
    problems = validate_record(rl(domain="astrology"), base_dir=media)
    assert errors_only(problems) == []
    assert [(p.field, p.severity) for p in problems] == [("domain", "warning")]


def test_forced_kind_and_undetectable_kind(media: Path) -> None:
    got = fields(validate_record({"id": "a", "messages": [user("q")]}, base_dir=media))
    assert "cannot tell the record kind" in got["record"]
    # forced sft: now the sft rules apply (domain missing, last message not assistant)
    got = fields(validate_record({"id": "a", "messages": [user("q")]}, base_dir=media,
                                 kind="sft"))
    assert {"domain", "messages[0].role"} <= set(got)
    with pytest.raises(ValueError, match="unknown record kind"):
        validate_record(rl(), base_dir=media, kind="dpo")


def test_no_base_dir_skips_existence_checks() -> None:
    assert errors_only(validate_record(rl(), base_dir=None)) == []
    assert fields(validate_record(["not", "a", "dict"], base_dir=None))["record"] == \
        "expected a JSON object, got array"


def test_record_error_format_and_pickle() -> None:
    err = RecordError("d/x.jsonl", 7, "answer", "missing", more=[Problem("id", "empty string")])
    assert str(err).splitlines() == ["d/x.jsonl:7: answer: missing",
                                     "d/x.jsonl:7: id: empty string"]
    back = pickle.loads(pickle.dumps(err))
    assert (back.file, back.line, back.field, back.problem, str(back)) == \
        (err.file, err.line, err.field, err.problem, str(err))
    no_file = RecordError("f.parquet", 0, "file", "no such file")
    assert str(no_file) == "f.parquet: file: no such file"
