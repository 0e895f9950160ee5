"""Drawing primitives shared by every domain.

The world is drawn for a ~1M-parameter model looking at 64×64 pixels: a few saturated colours,
big filled shapes on white, and the default font scaled up. Shapes are drawn without
anti-aliasing so every object is a blob of one exact colour — the tests recover counts and boxes
from the pixels, which keeps answers honest. Geometry is written for a 64-pixel canvas and scaled
with :func:`px`, so ``--image-size`` changes resolution, not content.

Levels 1 and 2 are *token-aligned*: objects, glyphs and buttons sit exactly in the cells of a 4×4
grid (16 pixels at 64), which is what one vision token of the tiny model sees (patch 8, merged
2×2). Measured on the tiny model: it learns to name an object's colour from an aligned picture in
~80 steps with its vision tower frozen, and not in 200 steps from the same objects at arbitrary
offsets; the later levels keep the harder, unaligned layouts.
"""

from __future__ import annotations

import random
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

RGB = tuple[int, int, int]
# A pixel box (x1, y1, x2, y2) with exclusive right/bottom edges: width = x2 - x1.
Box = tuple[int, int, int, int]

BASE = 64  # geometry constants in the generators are given for this canvas size
CELLS = 4  # token-aligned levels use a CELLS×CELLS grid (one vision token of the tiny model each)
ALIGNED_LEVELS = (1, 2)
COLORS: dict[str, RGB] = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (30, 70, 230),
    "yellow": (240, 200, 20),
    "purple": (140, 50, 190),
}
COLOR_NAMES: tuple[str, ...] = tuple(COLORS)
SHAPES: tuple[str, ...] = ("square", "circle", "triangle")
# The multiple-choice domain needs four shapes for four options.
CHOICE_SHAPES: tuple[str, ...] = SHAPES + ("diamond",)
WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)
LIGHT_GREY: RGB = (215, 215, 215)


def px(value: float, size: int) -> int:
    """A length given for the 64-pixel canvas, scaled to ``size`` (at least 1 pixel)."""
    return max(1, round(value * size / BASE))


def canvas(size: int, color: RGB = WHITE) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGB", (size, size), color)
    return img, ImageDraw.Draw(img)


def draw_shape(draw: ImageDraw.ImageDraw, shape: str, box: Box, color: RGB) -> None:
    """Fill ``shape`` so that its pixels span exactly ``box`` (no anti-aliasing)."""
    x1, y1, x2, y2 = box
    r, b = x2 - 1, y2 - 1
    mx, my = (x1 + r) / 2, (y1 + b) / 2
    if shape == "square":
        draw.rectangle((x1, y1, r, b), fill=color)
    elif shape == "circle":
        draw.ellipse((x1, y1, r, b), fill=color)
    elif shape == "triangle":
        draw.polygon([(mx, y1), (x1, b), (r, b)], fill=color)
    elif shape == "diamond":
        draw.polygon([(mx, y1), (r, my), (mx, b), (x1, my)], fill=color)
    else:
        raise ValueError(f"unknown shape {shape!r}; known: {', '.join(CHOICE_SHAPES)}")


def cell_size(size: int) -> int:
    """Side of one token-aligned cell in pixels."""
    return size // CELLS


def cell_box(col: int, row: int, size: int, span: int = 1, gap: int = 1) -> Box:
    """The box of ``span``×``span`` cells at (col, row), shrunk by ``gap`` pixels (64-px units)
    on every side so neighbouring objects never touch."""
    c, g = cell_size(size), px(gap, size)
    return (col * c + g, row * c + g, (col + span) * c - g, (row + span) * c - g)


def aligned_boxes(rng: random.Random, n: int, size: int, span: int = 1) -> list[Box]:
    """``n`` distinct token-aligned boxes of ``span``×``span`` cells (spans tile the canvas)."""
    per_side = CELLS // span
    if n > per_side * per_side:
        raise ValueError(f"{n} objects do not fit {per_side}x{per_side} aligned slots")
    return [cell_box((k % per_side) * span, (k // per_side) * span, size, span)
            for k in rng.sample(range(per_side * per_side), n)]


def draw_cells(draw: ImageDraw.ImageDraw, text: str, size: int, col: int, row: int,
               color: RGB = BLACK) -> Box:
    """One character per token cell, left to right from (col, row), each centred in its cell;
    returns the box of the cells used."""
    c = cell_size(size)
    fs = min(fit_font(ch, px(15, size), c - px(2, size), c - px(2, size)) for ch in text)
    for k, ch in enumerate(text):
        w, h = text_size(ch, fs)
        x0, y0 = (col + k) * c, row * c
        draw_text(draw, (x0 + (c - w) // 2, y0 + (c - h) // 2), ch, fs, color)
    return (col * c, row * c, (col + len(text)) * c, (row + 1) * c)


def grid_boxes(rng: random.Random, n: int, grid: int, size: int, side: tuple[int, int],
               margin: int = 2, top: int = 0) -> list[Box]:
    """``n`` square boxes in distinct cells of a ``grid``×``grid`` layout, never touching.

    One object per cell with a 1-pixel gap inside the cell keeps blobs separate, so a count of
    connected components equals the count of objects. ``side`` is the (min, max) side length on
    the 64-pixel canvas; ``top`` reserves rows at the top (e.g. a title bar).
    """
    if n > grid * grid:
        raise ValueError(f"{n} objects do not fit a {grid}x{grid} grid")
    m = px(margin, size)
    xs = edges(m, size - m, grid)
    ys = edges(m + top, size - m, grid)
    boxes = []
    for cell in rng.sample(range(grid * grid), n):
        row, col = divmod(cell, grid)
        cw, ch = xs[col + 1] - xs[col], ys[row + 1] - ys[row]
        w = min(px(rng.randint(*side), size), cw - 2, ch - 2)
        x = xs[col] + rng.randint(1, cw - w - 1)
        y = ys[row] + rng.randint(1, ch - w - 1)
        boxes.append((x, y, x + w, y + w))
    return boxes


def edges(start: int, stop: int, parts: int) -> list[int]:
    """Integer cut points splitting [start, stop) into ``parts`` near-equal spans."""
    return [start + round(i * (stop - start) / parts) for i in range(parts + 1)]


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled font at ``size`` pixels (needs Pillow ≥ 10.1 built with FreeType)."""
    f = ImageFont.load_default(size=size)
    if not isinstance(f, ImageFont.FreeTypeFont):
        raise RuntimeError(
            "Pillow has no FreeType support, so text cannot be scaled to a legible size; "
            "install a standard Pillow wheel (pip install -U 'pillow>=10.1')")
    return f


def text_size(text: str, size: int) -> tuple[int, int]:
    """Width and height of the ink of ``text`` at font ``size``."""
    left, top, right, bottom = font(size).getbbox(text)
    return right - left, bottom - top


def fit_font(text: str, start: int, max_w: int, max_h: int, floor: int = 6) -> int:
    """The largest font size ≤ ``start`` whose ink fits ``max_w``×``max_h`` (≥ ``floor``)."""
    size = start
    while size > floor:
        w, h = text_size(text, size)
        if w <= max_w and h <= max_h:
            break
        size -= 1
    return size


def draw_text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int,
              color: RGB = BLACK) -> Box:
    """Draw ``text`` with its ink's top-left corner at ``xy``; returns the ink box."""
    f = font(size)
    left, top, right, bottom = f.getbbox(text)
    draw.text((xy[0] - left, xy[1] - top), text, font=f, fill=color)
    return (xy[0], xy[1], xy[0] + right - left, xy[1] + bottom - top)


def place_text(rng: random.Random, draw: ImageDraw.ImageDraw, text: str, size: int,
               fsize: int) -> Box:
    """``text`` at up to ``fsize`` (64-px units), shrunk to fit, at a random spot inside a margin."""
    margin = px(3, size)
    fs = fit_font(text, px(fsize, size), size - 2 * margin, size - 2 * margin)
    w, h = text_size(text, fs)
    x = rng.randint(margin, max(margin, size - margin - w))
    y = rng.randint(margin, max(margin, size - margin - h))
    return draw_text(draw, (x, y), text, fs)


def norm_box(box: Box, size: int) -> list[int]:
    """A pixel box on the 0–1000 grid that grounding and GUI answers use."""
    return [min(1000, max(0, round(v * 1000 / size))) for v in box]


def box_center(nbox: list[int]) -> list[int]:
    """Centre of a normalised box (GUI click point)."""
    return [(nbox[0] + nbox[2]) // 2, (nbox[1] + nbox[3]) // 2]


def box_text(nbox: list[int]) -> str:
    """The ``[x1, y1, x2, y2]`` spelling used in answers and captions."""
    return "[" + ", ".join(str(v) for v in nbox) + "]"
