"""Scenes of coloured shapes on a grid, shared by the counting and grounding domains."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from PIL import Image

from .draw import COLOR_NAMES, COLORS, SHAPES, Box, aligned_boxes, canvas, draw_shape, grid_boxes
from .words import counted, join_list, sentence


@dataclass(frozen=True)
class Thing:
    color: str
    shape: str
    box: Box

    @property
    def name(self) -> str:
        return f"{self.color} {self.shape}"


def other_kind(rng: random.Random, color: str, shape: str, *, share: bool) -> tuple[str, str]:
    """A (colour, shape) unlike the target: differing in both, or (``share``) in at least one."""
    while True:
        c, s = rng.choice(COLOR_NAMES), rng.choice(SHAPES)
        if share and (c, s) != (color, shape):
            return c, s
        if not share and c != color and s != shape:
            return c, s


def render(things: list[Thing], size: int) -> Image.Image:
    img, draw = canvas(size)
    for t in things:
        draw_shape(draw, t.shape, t.box, COLORS[t.color])
    return img


def layout(rng: random.Random, kinds: list[tuple[str, str]], grid: int, size: int,
           side: tuple[int, int] | None) -> list[Thing]:
    """Place one object per kind in distinct grid cells (drawing order = list order);
    ``side=None``: token-aligned cells (``grid`` is then ignored)."""
    if side is None:
        boxes = aligned_boxes(rng, len(kinds), size)
    else:
        boxes = grid_boxes(rng, len(kinds), grid, size, side)
    return [Thing(c, s, b) for (c, s), b in zip(kinds, boxes)]


def describe(things: list[Thing], first: tuple[str, str] | None = None) -> str:
    """``Three red squares and one blue circle.`` — groups in order of appearance."""
    counts = Counter((t.color, t.shape) for t in things)
    order = list(dict.fromkeys((t.color, t.shape) for t in things))
    if first in counts:
        order.remove(first)
        order.insert(0, first)
    parts = [counted(counts[k], f"{k[0]} {k[1]}") for k in order]
    return sentence(join_list(parts))
