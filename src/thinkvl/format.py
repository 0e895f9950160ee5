"""The response protocol shared by data generation, training, rewards and evaluation.

A thinking response is ``<think>reasoning</think><answer>… <|begin_of_box|>FINAL<|end_of_box|> …</answer>``.
The final answer lives in exactly one box inside the answer block: boxes are unambiguous for long
or structured answers where ``\\boxed{}`` is not. ``/nothink`` at the end of the user turn asks
for an empty think block (hybrid mode). This module is pure string handling (no torch), so the
reward system and any external trainer can import it cheaply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
ANSWER_OPEN = "<answer>"
ANSWER_CLOSE = "</answer>"
BOX_OPEN = "<|begin_of_box|>"
BOX_CLOSE = "<|end_of_box|>"
PROTOCOL_MARKERS = (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE, BOX_OPEN, BOX_CLOSE)

NOTHINK = "/nothink"
# Appended when thinking hits its budget so the sample still ends with a gradable answer.
FORCE_ANSWER_SUFFIX = THINK_CLOSE + ANSWER_OPEN



def split_boxes(text: str) -> tuple[list[str], str]:
    """(box contents, the text with every closed box replaced by a space), in one left-to-right
    pass.

    Same matches as ``re.findall(BOX_OPEN + "(.*?)" + BOX_CLOSE, text, re.DOTALL)`` but linear
    in ``len(text)``: the regex rescans to the end of the text for every unclosed opener, so a
    policy repeating one box token (8,000 openers, 128k characters) stalled it for seconds and a
    1 MB response for minutes. Here, once no closer follows an opener, none follows a later one
    either, and the scan stops.
    """
    boxes: list[str] = []
    rest: list[str] = []
    pos = 0
    while True:
        start = text.find(BOX_OPEN, pos)
        if start < 0:
            break
        end = text.find(BOX_CLOSE, start + len(BOX_OPEN))
        if end < 0:
            break
        boxes.append(text[start + len(BOX_OPEN) : end])
        rest.append(text[pos:start])
        pos = end + len(BOX_CLOSE)
    rest.append(text[pos:])
    return boxes, " ".join(rest)


def find_boxes(text: str) -> list[str]:
    """Every closed box's content, in order (linear time; see :func:`split_boxes`)."""
    return split_boxes(text)[0]


def make_response(final: str, think: str = "", lead: str = "", tail: str = "") -> str:
    """Build a well-formed response; ``think=""`` gives the empty block used by /nothink."""
    return (
        f"{THINK_OPEN}{think}{THINK_CLOSE}{ANSWER_OPEN}{lead}"
        f"{BOX_OPEN}{final}{BOX_CLOSE}{tail}{ANSWER_CLOSE}"
    )


def add_nothink(text: str) -> str:
    """Mark a user turn as direct-answer (hybrid mode)."""
    text = text.rstrip()
    return text if text.endswith(NOTHINK) else f"{text} {NOTHINK}"


def wants_nothink(text: str) -> bool:
    return text.rstrip().endswith(NOTHINK)


@dataclass
class ParsedResponse:
    """A response split into its protocol parts, with every deviation named in ``problems``."""

    think: str | None = None
    answer: str | None = None
    boxes: list[str] = field(default_factory=list)
    think_boxes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def well_formed(self) -> bool:
        return not self.problems

    @property
    def box(self) -> str | None:
        """The single boxed answer, or None when there is not exactly one."""
        return self.boxes[0] if len(self.boxes) == 1 else None


def parse_response(text: str) -> ParsedResponse:
    """Split ``text`` into think / answer / boxes. Never raises; linear in ``len(text)``.

    Problems reported: ``no_think``, ``unclosed_think``, ``no_answer``, ``unclosed_answer``,
    ``text_outside_blocks``, ``no_box``, ``multiple_boxes``, ``unclosed_box``, ``box_in_think``,
    ``duplicate_tags``.
    """
    out = ParsedResponse()
    if not isinstance(text, str):
        out.problems.append("not_text")
        return out
    rest = text.strip()
    for tag in PROTOCOL_MARKERS[:4]:
        if text.count(tag) > 1:
            out.problems.append("duplicate_tags")
            break
    if rest.startswith(THINK_OPEN):
        end = rest.find(THINK_CLOSE)
        if end < 0:
            out.think = rest[len(THINK_OPEN):]
            out.problems.append("unclosed_think")
            rest = ""
        else:
            out.think = rest[len(THINK_OPEN):end]
            rest = rest[end + len(THINK_CLOSE):].strip()
    else:
        out.problems.append("no_think")
    if out.think:
        out.think_boxes = find_boxes(out.think)
        if out.think_boxes or BOX_OPEN in out.think:
            out.problems.append("box_in_think")
    if rest.startswith(ANSWER_OPEN):
        end = rest.find(ANSWER_CLOSE)
        if end < 0:
            out.answer = rest[len(ANSWER_OPEN):]
            out.problems.append("unclosed_answer")
            rest = ""
        else:
            out.answer = rest[len(ANSWER_OPEN):end]
            rest = rest[end + len(ANSWER_CLOSE):].strip()
        if rest:
            out.problems.append("text_outside_blocks")
    else:
        out.problems.append("no_answer")
    if out.answer is not None:
        out.boxes = [b.strip() for b in find_boxes(out.answer)]
        opened = out.answer.count(BOX_OPEN)
        if opened > len(out.boxes) or out.answer.count(BOX_CLOSE) > len(out.boxes):
            out.problems.append("unclosed_box")
        if not out.boxes and "unclosed_box" not in out.problems:
            out.problems.append("no_box")
        elif len(out.boxes) > 1:
            out.problems.append("multiple_boxes")
    return out


def extract_box(text: str) -> str | None:
    """The content of the single box in the answer block, else None."""
    return parse_response(text).box


def strip_markers(text: str) -> str:
    """Remove protocol markers (used when showing or judging plain answer text)."""
    for marker in PROTOCOL_MARKERS:
        text = text.replace(marker, " ")
    return re.sub(r"\s+", " ", text).strip()
