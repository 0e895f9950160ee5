"""Video: a few frames (an even count, as the vision encoder takes frames in pairs).

Two tasks: which way an object moves (left/right/up/down; it moves the same step every frame)
and how many times a circle flashes (it is lit in single frames, never two in a row, so flashes
= lit frames; unlit it shows as a grey disc so the lamp stays visible). Later levels have more
frames, smaller steps and distractors (a still object, then one moving or flashing on its own).
"""

from __future__ import annotations

import random

from PIL import Image

from .draw import ALIGNED_LEVELS, CELLS, COLOR_NAMES, COLORS, LIGHT_GREY, SHAPES, Box, aligned_boxes, \
    canvas, cell_box, draw_shape, grid_boxes, px
from .sample import Sample
from .words import number_word

DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
MOTION_QUESTION = "Which direction does the {name} move?"
FLASH_QUESTION = "How many times does the {color} circle flash?"
FPS = 2
# level: (frames, object side, step per frame (min, max), distractor: None | "still" | "moving")
_LEVELS = {1: (4, 16, (12, 12), None), 2: (4, 14, (8, 8), None), 3: (6, 12, (6, 6), "still"),
           4: (8, 10, (4, 5), "moving")}


def generate(rng: random.Random, level: int, size: int) -> Sample:
    return (_motion if rng.random() < 0.6 else _flash)(rng, level, size)


def _sweep(rng: random.Random, d: str, side: int, step: int, n: int, size: int) -> list[Box]:
    """The object's box in each frame, moving ``step`` pixels per frame in direction ``d``."""
    m = px(2, size)
    dx, dy = DIRECTIONS[d]
    travel = step * (n - 1)

    def start(delta: int) -> int:
        if delta > 0:
            return rng.randint(m, size - m - side - travel)
        if delta < 0:
            return rng.randint(m + travel, size - m - side)
        return rng.randint(m, size - m - side)

    x, y = start(dx), start(dy)
    return [(x + dx * step * i, y + dy * step * i, x + dx * step * i + side,
             y + dy * step * i + side) for i in range(n)]


def _cell_sweep(rng: random.Random, d: str, n: int) -> list[tuple[int, int]]:
    """(column, row) cells of an object moving one cell per frame in direction ``d``."""
    dx, dy = DIRECTIONS[d]

    def start(delta: int) -> int:
        if delta > 0:
            return rng.randint(0, CELLS - n)
        if delta < 0:
            return rng.randint(n - 1, CELLS - 1)
        return rng.randrange(CELLS)

    c, r = start(dx), start(dy)
    return [(c + dx * i, r + dy * i) for i in range(n)]


def _hull(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _motion(rng: random.Random, level: int, size: int) -> Sample:
    n, side, steps, extra = _LEVELS[level]
    color = rng.choice(COLOR_NAMES)
    shape = "square" if level <= 2 else rng.choice(SHAPES)
    name = f"{color} {shape}"
    d = rng.choice(tuple(DIRECTIONS))
    step = px(rng.randint(*steps), size)
    if level in ALIGNED_LEVELS and n <= CELLS:  # one token cell per frame (see draw.py)
        cells = _cell_sweep(rng, d, n)
        path = [cell_box(c, r, size) for c, r in cells]
        if level == 2:  # a still object of another colour and shape in a cell off the track
            shape = rng.choice(SHAPES)
            name = f"{color} {shape}"
            free = [(c, r) for c in range(CELLS) for r in range(CELLS) if (c, r) not in cells]
            oc = rng.choice([c for c in COLOR_NAMES if c != color])
            os_ = rng.choice([x for x in SHAPES if x != shape])
            still = cell_box(*rng.choice(free), size)
            extra = "aligned-still"
    else:
        path = _sweep(rng, d, px(side, size), step, n, size)
    others: list[tuple[str, str, list[Box], str]] = []
    caption = f"A {name} moves {d}."
    if extra == "aligned-still":
        others.append((oc, os_, [still] * n, d))
        caption += f" A {oc} {os_} stays still."
    elif extra:
        oc = rng.choice([c for c in COLOR_NAMES if c != color])
        os_ = rng.choice([s for s in SHAPES if s != shape])
        od = rng.choice([x for x in DIRECTIONS if x != d]) if extra == "moving" else d
        ostep = step if extra == "moving" else 0
        for _ in range(30):  # keep the distractor's track off the target's
            opath = _sweep(rng, od, px(side, size), ostep, n, size)
            if not _overlap(_hull(opath), _hull(path)):
                break
        others.append((oc, os_, opath, od))
        caption += f" A {oc} {os_} moves {od}." if ostep else f" A {oc} {os_} stays still."
    frames = []
    for i in range(n):
        img, draw = canvas(size)
        for oc, os_, opath, _ in others:
            draw_shape(draw, os_, opath[i], COLORS[oc])
        draw_shape(draw, shape, path[i], COLORS[color])
        frames.append(img)
    return Sample(
        domain="video", level=level, question=MOTION_QUESTION.format(name=name), answer=d,
        final=d, think=f"The {name} moves {d} in every frame.", caption=caption,
        frames=frames, pretrain_kind="video", video=True,
        meta={"level": level, "task": "motion", "frames": n, "fps": FPS},
    )


def _flashes(rng: random.Random, n: int, k: int) -> list[int]:
    """``k`` lit frames out of ``n`` with no two adjacent (uniform over such patterns)."""
    return [p + i for i, p in enumerate(sorted(rng.sample(range(n - k + 1), k)))]


def _times(k: int) -> str:
    return {1: "once", 2: "twice"}.get(k, f"{number_word(k)} times")


def _flash(rng: random.Random, level: int, size: int) -> Sample:
    n, _, _, extra = _LEVELS[level]
    color = rng.choice(COLOR_NAMES)
    k = rng.randint(1, (n + 1) // 2)
    lit = _flashes(rng, n, k)
    if level in ALIGNED_LEVELS:
        extra = "still" if level == 2 else extra  # enough distinct level-2 items
        boxes = aligned_boxes(rng, 2 if extra else 1, size, span=2)
    else:
        boxes = grid_boxes(rng, 2 if extra else 1, 2, size, (18, 22))
    caption = f"A {color} circle flashes {_times(k)}."
    other: tuple[str, str, list[int]] | None = None
    if extra == "still":
        other = (rng.choice([c for c in COLOR_NAMES if c != color]),
                 rng.choice(("square", "triangle")), list(range(n)))
        caption += f" A {other[0]} {other[1]} stays still."
    elif extra == "moving":  # a second lamp of another colour with its own rhythm
        ok = rng.randint(1, (n + 1) // 2)
        other = (rng.choice([c for c in COLOR_NAMES if c != color]), "circle",
                 _flashes(rng, n, ok))
        caption += f" A {other[0]} circle flashes {_times(ok)}."
    frames: list[Image.Image] = []
    for i in range(n):
        img, draw = canvas(size)
        draw_shape(draw, "circle", boxes[0], COLORS[color] if i in lit else LIGHT_GREY)
        if other:
            oc, os_, on = other
            draw_shape(draw, os_, boxes[1], COLORS[oc] if i in on else LIGHT_GREY)
        frames.append(img)
    frames_text = ", ".join(str(i + 1) for i in lit)
    return Sample(
        domain="video", level=level, question=FLASH_QUESTION.format(color=color), answer=k,
        final=str(k),
        think=f"The {color} circle is lit in frame{'s' if k > 1 else ''} {frames_text}: {k} "
              f"{'flash' if k == 1 else 'flashes'}.",
        caption=caption, frames=frames, pretrain_kind="video", video=True,
        meta={"level": level, "task": "flash", "frames": n, "fps": FPS},
    )


def vocabulary() -> list[str]:
    out = []
    for c in COLOR_NAMES:
        out.append(FLASH_QUESTION.format(color=c))
        out.append(f"The {c} circle is lit in frames 1, 3, 5, 7: 4 flashes.")
        out.append(f"The {c} circle is lit in frame 2: 1 flash.")
        out += [f"A {c} circle flashes {_times(k)}." for k in range(1, 5)]
        for s in SHAPES:
            out.append(MOTION_QUESTION.format(name=f"{c} {s}"))
            out.append(f"A {c} {s} stays still.")
            out += [f"The {c} {s} moves {d} in every frame." for d in DIRECTIONS]
            out += [f"A {c} {s} moves {d}." for d in DIRECTIONS]
    return out
