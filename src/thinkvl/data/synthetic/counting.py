"""Counting: "How many red squares are there?" — an integer answer.

Level 1 shows only the counted kind; later levels add distractors, first unlike the target in
both colour and shape, then sharing one of them (same colour, other shape), which is what makes
counting a grounded skill rather than blob counting.
"""

from __future__ import annotations

import random

from .draw import COLOR_NAMES, SHAPES
from .sample import Sample
from .scene import describe, layout, other_kind, render
from .words import NUMBER_WORDS, plural

# level: (grid, max targets, distractors (min, max), distractors may share colour/shape, side);
# side None: one object per token-aligned cell (see draw.py)
_LEVELS = {
    1: (4, 3, (0, 0), False, None),
    2: (4, 4, (1, 2), False, None),
    3: (4, 5, (2, 4), True, (10, 12)),
    4: (4, 6, (4, 6), True, (9, 11)),
}
TEMPLATES = (
    "How many {color} {shapes} are there?",
    "Count the {color} {shapes}.",
    "How many {color} {shapes} can you see?",
)


def generate(rng: random.Random, level: int, size: int) -> Sample:
    grid, tmax, (dmin, dmax), share, side = _LEVELS[level]
    color, shape = rng.choice(COLOR_NAMES), rng.choice(SHAPES)
    n = rng.randint(1, tmax)
    kinds = [(color, shape)] * n
    kinds += [other_kind(rng, color, shape, share=share) for _ in range(rng.randint(dmin, dmax))]
    rng.shuffle(kinds)
    things = layout(rng, kinds, grid, size, side)
    shapes = plural(shape)
    question = rng.choice(TEMPLATES).format(color=color, shapes=shapes)
    ticks = ", ".join(str(i) for i in range(1, n + 1))
    return Sample(
        domain="counting", level=level, question=question, answer=n, final=str(n),
        think=f"I count the {color} {shapes}: {ticks}.",
        caption=describe(things, first=(color, shape)),
        text=f"Counting {color} {shapes}: {', '.join(NUMBER_WORDS[1:n + 1])}.",
        frames=[render(things, size)], pretrain_kind="caption",
        meta={"level": level, "color": color, "shape": shape, "distractors": len(kinds) - n},
    )


def vocabulary() -> list[str]:
    out = []
    for c in COLOR_NAMES:
        for s in SHAPES:
            out += [t.format(color=c, shapes=plural(s)) for t in TEMPLATES]
            out.append(f"I count the {c} {plural(s)}: 1, 2, 3, 4, 5, 6.")
            out.append(f"Counting {c} {plural(s)}: {', '.join(NUMBER_WORDS[1:7])}.")
    return out
