"""Grounding: "Find the blue circle." — the answer is a list of one box on the 0–1000 grid.

Distractors never repeat the target's colour+shape, so the referring expression is unique;
from level 3 they share its colour or shape, so both words must be grounded.
"""

from __future__ import annotations

import random

from .draw import COLOR_NAMES, SHAPES, box_text, cell_size, norm_box
from .sample import Sample
from .scene import layout, other_kind, render
from .words import all_position_phrases, box_position, sentence

# level: (grid, distractors (min, max), distractors may share colour/shape, side)
_LEVELS = {
    1: (4, (0, 1), False, None),  # side None: token-aligned cells (see draw.py)
    2: (4, (1, 2), False, None),
    3: (4, (2, 4), True, (11, 13)),
    4: (4, (4, 6), True, (9, 12)),
}
TEMPLATES = ("Find the {name}.", "Where is the {name}?", "Locate the {name}.")


def generate(rng: random.Random, level: int, size: int) -> Sample:
    grid, (dmin, dmax), share, side = _LEVELS[level]
    color, shape = rng.choice(COLOR_NAMES), rng.choice(SHAPES)
    kinds = [(color, shape)]
    kinds += [other_kind(rng, color, shape, share=share) for _ in range(rng.randint(dmin, dmax))]
    rng.shuffle(kinds)
    things = layout(rng, kinds, grid, size, side)
    target = next(t for t in things if (t.color, t.shape) == (color, shape))
    nbox = norm_box(target.box, size)
    others = [f"a {t.name} is at {box_text(norm_box(t.box, size))}"
              for t in things if t is not target]
    caption = " ".join([f"The {target.name} is at {box_text(nbox)}."]
                       + [sentence(o) for o in others])
    return Sample(
        domain="grounding", level=level, question=rng.choice(TEMPLATES).format(name=target.name),
        answer=[nbox], final=box_text(nbox),
        think=_where(target, size, side is None),
        caption=caption, frames=[render(things, size)], pretrain_kind="grounding",
        meta={"level": level, "color": color, "shape": shape, "distractors": len(things) - 1},
    )


def _where(target, size: int, aligned: bool) -> str:
    """The reasoning step: on token-aligned levels the exact cell (row and column, from 1), which
    the box then spells out; otherwise the coarse region."""
    if aligned:
        cell = cell_size(size)
        row, col = target.box[1] // cell + 1, target.box[0] // cell + 1
        return f"The {target.name} is in row {row}, column {col}."
    return f"The {target.name} is {box_position(target.box, size)}."


def vocabulary() -> list[str]:
    out = []
    for c in COLOR_NAMES:
        for s in SHAPES:
            out += [t.format(name=f"{c} {s}") for t in TEMPLATES]
            out += [f"The {c} {s} is {p}." for p in all_position_phrases()]
            out.append(f"The {c} {s} is at [120, 340, 300, 520]. A {c} {s} is at [0, 1000, 5, 9].")
            out.append(f"The {c} {s} is in row 1, column 2.")
    return out
