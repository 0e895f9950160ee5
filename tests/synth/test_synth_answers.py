"""Answers agree with what is drawn, and SFT responses follow the protocol."""

from __future__ import annotations

import re

from synth_helpers import components, load, shape_of

from thinkvl.data.synthetic.draw import COLOR_NAMES, norm_box
from thinkvl.data.synthetic.ocr import CHARSET
from thinkvl.format import NOTHINK, parse_response

FINAL_PATTERNS = {
    "counting": r"[1-9]\d*",
    "ocr": rf"[{CHARSET}]{{1,6}}",
    "grounding": r"\[\d+, \d+, \d+, \d+\]",
    "chart": r"\d+|" + "|".join(COLOR_NAMES),
    "math": r"\d+",
    "choice": r"[ABCD]",
    "gui": r"CLICK \[\d+, \d+\]",
    "video": r"left|right|up|down|\d+",
}


def _rl(records, domain):
    return [r for n in ("rl_train", "rl_eval") for r in records[n] if r["domain"] == domain]


def _image(world, rec):
    item = rec["prompt"][0]["content"][0] if "prompt" in rec else rec["messages"][0]["content"][0]
    return load(world[0] / item["image"])


def test_counting_answers_match_pixels(world, records) -> None:
    for r in _rl(records, "counting"):
        meta = r["meta"]
        blobs = components(_image(world, r), meta["color"])
        assert sum(shape_of(b) == meta["shape"] for b in blobs) == r["answer"], r["id"]


def test_grounding_boxes_match_pixels(world, records) -> None:
    for r in _rl(records, "grounding"):
        meta = r["meta"]
        blobs = [b for b in components(_image(world, r), meta["color"])
                 if shape_of(b) == meta["shape"]]
        assert len(blobs) == 1, r["id"]
        (box,) = r["answer"]
        assert norm_box(blobs[0][:4], 64) == box, r["id"]
        assert 0 <= box[0] < box[2] <= 1000 and 0 <= box[1] < box[3] <= 1000


def test_gui_answer_is_a_button(world, records) -> None:
    for r in _rl(records, "gui"):
        ans = r["answer"]
        assert ans["action"] == "click" and len(ans["bbox"]) == 4
        img = _image(world, r)
        x1, y1, x2, y2 = (round(v * 64 / 1000) for v in ans["bbox"])
        inside = img[y1 + 1:y2 - 1, x1 + 1:x2 - 1].reshape(-1, 3)
        assert not (inside == (236, 236, 240)).all(-1).any(), r["id"]  # no screen inside
    for r in records["sft"]:
        if r["domain"] == "gui":
            box = parse_response(r["messages"][1]["content"]).box
            x, y = (int(v) for v in re.findall(r"\d+", box))
            px = _image(world, r)[y * 64 // 1000, x * 64 // 1000]
            assert tuple(px) != (236, 236, 240), r["id"]
            think = parse_response(r["messages"][1]["content"]).think
            if think:  # the buttons read up to the asked one, which is the last read
                label = re.search(r"the (\w+) button", r["messages"][0]["content"][1]["text"]).group(1)
                read = re.findall(r"(?:: |, )([A-Z]+) ", think)
                assert read[-1] == label and label not in read[:-1], (r["id"], think)


def test_ocr_text_is_inside_the_image(world, records) -> None:
    for r in _rl(records, "ocr"):
        assert set(r["answer"]) <= set(CHARSET) and 1 <= len(r["answer"]) <= 6
        if r["meta"]["level"] < 3:  # plain white background: ink must not touch the border
            img = _image(world, r)
            ink = (img < 200).any(-1)
            assert ink.any() and not (ink[0].any() or ink[-1].any() or ink[:, 0].any()
                                      or ink[:, -1].any()), r["id"]


def test_choice_and_video_answers(records) -> None:
    for r in _rl(records, "choice"):
        opts = r["meta"]["options"]
        assert list(opts) == ["A", "B", "C", "D"] and len(set(opts.values())) == 4
        assert r["answer"] in opts
        text = r["prompt"][0]["content"][1]["text"]
        assert all(f"{k}. {v}" in text for k, v in opts.items())
    for r in _rl(records, "video"):
        assert r["meta"]["frames"] % 2 == 0
        if r["meta"]["task"] == "motion":
            assert r["answer"] in ("left", "right", "up", "down")
        else:
            assert isinstance(r["answer"], int) and r["answer"] >= 1


def test_sft_responses_follow_protocol(records) -> None:
    sft = records["sft"]
    nothink = 0
    for r in sft:
        user, assistant = r["messages"]
        assert user["role"] == "user" and assistant["role"] == "assistant"
        parsed = parse_response(assistant["content"])
        assert parsed.well_formed, (r["id"], parsed.problems)
        assert len(parsed.boxes) == 1
        assert re.fullmatch(FINAL_PATTERNS[r["domain"]], parsed.box), (r["id"], parsed.box)
        question = user["content"][1]["text"]
        if question.endswith(NOTHINK):
            nothink += 1
            assert parsed.think == ""
        else:
            assert parsed.think and len(parsed.think.split()) <= 32, parsed.think
    per_domain = len(sft) // len({r["domain"] for r in sft})
    assert nothink == len({r["domain"] for r in sft}) * (per_domain // 5)  # every 5th: 20%


def test_sft_reasoning_agrees_with_final(records) -> None:
    for r in records["sft"]:
        parsed = parse_response(r["messages"][1]["content"])
        if not parsed.think:
            continue
        if r["domain"] in ("counting", "math"):
            assert re.findall(r"\d+", parsed.think)[-1] == parsed.box, r["id"]
        elif r["domain"] == "ocr":
            assert parsed.think.removeprefix("The text reads ").rstrip(".").replace(" ", "") \
                == parsed.box
        elif r["domain"] == "choice":
            opts = dict(re.findall(r"^([ABCD])\. (.+)$", r["messages"][0]["content"][1]["text"], re.M))
            letters = "ABCD"[:"ABCD".index(parsed.box) + 1]
            lines = "\n".join(f"{k}. {opts[k]}" for k in letters)
            assert parsed.think.endswith(f".\n{lines}"), (r["id"], parsed.think)
            assert opts[parsed.box] in parsed.think.split(".")[0]  # the fact names the answer


def test_pretrain_captions_are_truthful_for_counting(world, records) -> None:
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
    for r in records["pretrain"]:
        if not r["id"].startswith("counting-") or r["kind"] != "caption":
            continue
        img_item, text_item = r["messages"][0]["content"]
        img = load(world[0] / img_item["image"])
        for n, color, shape in re.findall(r"(\w+) (\w+) (square|circle|triangle)s?",
                                          text_item["text"].lower()):
            got = sum(shape_of(b) == shape for b in components(img, color))
            assert got == words[n], (r["id"], text_item["text"])
