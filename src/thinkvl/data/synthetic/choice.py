"""Multiple choice: a question about an object's colour, shape or position with options A–D.

Objects sit one per quadrant with distinct colours and shapes, so "the circle", "the red object"
and "the red circle" each name exactly one object and the position options (quadrants) are
unambiguous. The answer is the letter; ``meta["options"]`` maps letters to option words.

The reasoning states what the image shows, then copies the option lines in order until the one
that matches ("The circle is red.\nA. blue\nB. red"), so the answer is the letter of the last
line. Each step is a copy or a comparison a tiny model learns; jumping from "red" straight to the
letter (a table lookup in one step) stayed at chance after 900 SFT steps (0.19, chance 0.29); with
this reasoning the same budget reaches 0.74.
"""

from __future__ import annotations

import random

from .draw import ALIGNED_LEVELS, CHOICE_SHAPES, COLOR_NAMES, COLORS, canvas, cell_box, draw_shape, px
from .sample import Sample
from .words import join_list, sentence

LETTERS = "ABCD"
QUADRANTS = ("top left", "top right", "bottom left", "bottom right")
QUESTIONS = {
    "color": "What color is the {shape}?",
    "shape": "What shape is the {color} object?",
    "position": "Where is the {color} {shape}?",
}
INSTRUCTION = "Answer with the letter."
# level: (objects, question types, side range on the 64-pixel canvas)
_LEVELS = {
    1: (1, ("color", "shape"), (20, 26)),
    2: (2, ("color", "shape"), (17, 22)),
    3: (3, ("color", "shape", "position"), (14, 18)),
    4: (4, ("color", "shape", "position"), (12, 16)),
}


def generate(rng: random.Random, level: int, size: int) -> Sample:
    n, qtypes, side = _LEVELS[level]
    colors = rng.sample(COLOR_NAMES, n)
    shapes = rng.sample(CHOICE_SHAPES, n)
    quads = rng.sample(range(4), n)
    img, draw = canvas(size)
    half, m = size // 2, px(3, size)
    for c, s, q in zip(colors, shapes, quads):
        if level in ALIGNED_LEVELS:  # the quadrant's 2×2 token cells (see draw.py)
            draw_shape(draw, s, cell_box((q % 2) * 2, (q // 2) * 2, size, span=2, gap=2), COLORS[c])
            continue
        w = min(px(rng.randint(*side), size), half - 2 * m)
        qx, qy = (q % 2) * half, (q // 2) * half
        x, y = qx + rng.randint(m, half - m - w), qy + rng.randint(m, half - m - w)
        draw_shape(draw, s, (x, y, x + w, y + w), COLORS[c])
    t = rng.randrange(n)
    color, shape, quad = colors[t], shapes[t], QUADRANTS[quads[t]]
    qtype = rng.choice(qtypes)
    correct = {"color": color, "shape": shape, "position": quad}[qtype]
    pool = {"color": COLOR_NAMES, "shape": CHOICE_SHAPES, "position": QUADRANTS}[qtype]
    options = [correct] + rng.sample([o for o in pool if o != correct], 3)
    rng.shuffle(options)
    letter = LETTERS[options.index(correct)]
    question = QUESTIONS[qtype].format(color=color, shape=shape)
    listing = "\n".join(f"{L}. {o}" for L, o in zip(LETTERS, options))
    fact = {"color": f"The {shape} is {color}", "shape": f"The {color} object is a {shape}",
            "position": f"The {color} {shape} is at the {quad}"}[qtype]
    things = [f"a {c} {s} at the {QUADRANTS[q]}" for c, s, q in zip(colors, shapes, quads)]
    return Sample(
        domain="choice", level=level, question=f"{question}\n{listing}\n{INSTRUCTION}",
        answer=letter, final=letter, think=reasoning(fact, options, letter),
        caption=sentence(join_list(things)), frames=[img],
        meta={"level": level, "options": dict(zip(LETTERS, options)), "question_type": qtype},
    )


def reasoning(fact: str, options: list[str], letter: str) -> str:
    """The fact, then the option lines (as the prompt writes them) up to the matching one."""
    lines = [f"{L}. {o}" for L, o in zip(LETTERS, options[:LETTERS.index(letter) + 1])]
    return "\n".join([f"{fact}.", *lines])


def vocabulary() -> list[str]:
    out = [INSTRUCTION] + [f"{L}. {o}" for L in LETTERS
                           for o in COLOR_NAMES + CHOICE_SHAPES + QUADRANTS]
    for c in COLOR_NAMES:
        for s in CHOICE_SHAPES:
            out += [q.format(color=c, shape=s) for q in QUESTIONS.values()]
            out += [f"The {s} is {c}.", f"The {c} object is a {s}."]
            out += [f"The {c} {s} is at the {p}." for p in QUADRANTS]
            out.append(f"A {c} {s} at the top left and a {c} {s} at the bottom right.")
    return out
