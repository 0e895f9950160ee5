"""Turn samples into the JSON records of DESIGN.md ("Data records").

Pure dict building — where media lives on disk is decided by the writer, which passes in the
content item (``{"type": "image", "image": "media/..."}`` or the video equivalent).
"""

from __future__ import annotations

from typing import Any

from thinkvl.format import add_nothink, make_response

from .sample import Sample

Item = dict[str, str]


def text_item(text: str) -> Item:
    return {"type": "text", "text": text}


def user_turn(parts: list[Item]) -> dict[str, Any]:
    return {"role": "user", "content": parts}


def rl_record(rid: str, sample: Sample, media: Item) -> dict[str, Any]:
    """An RL / eval prompt with its ground truth; the level goes in meta (tiers come later)."""
    return {
        "id": rid,
        "domain": sample.domain,
        "prompt": [user_turn([media, text_item(sample.question)])],
        "answer": sample.answer,
        "meta": dict(sample.meta),
    }


def sft_record(rid: str, sample: Sample, media: Item, nothink: bool) -> dict[str, Any]:
    """A cold-start example: short correct reasoning, or (``nothink``) an empty think block."""
    question = add_nothink(sample.question) if nothink else sample.question
    response = make_response(sample.final, think="" if nothink else sample.think)
    return {
        "id": rid,
        "domain": sample.domain,
        "messages": [user_turn([media, text_item(question)]),
                     {"role": "assistant", "content": response}],
    }


def pretrain_record(rid: str, kind: str, parts: list[Item]) -> dict[str, Any]:
    """A pre-training record: media items interleaved with the sentences that describe them."""
    return {"id": rid, "kind": kind, "messages": [user_turn(parts)]}


def text_record(rid: str, text: str) -> dict[str, Any]:
    return {"id": rid, "kind": "text", "text": text}
