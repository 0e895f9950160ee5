"""OCR: read the rendered text — a string answer.

Uppercase letters and digits without I and O (indistinguishable from 1 and 0 at this size, so
they would only teach guessing). Level 1 shows 1–2 characters in a large font; level 4 up to six
in a small one on a tinted background crossed by faint lines.
"""

from __future__ import annotations

import random
import string

from .draw import ALIGNED_LEVELS, CELLS, LIGHT_GREY, WHITE, canvas, draw_cells, place_text
from .sample import Sample

CHARSET = "".join(c for c in string.ascii_uppercase if c not in "IO") + string.digits
# level: (min length, max length, font size on the 64-pixel canvas)
_LEVELS = {1: (1, 2, 28), 2: (2, 3, 22), 3: (3, 4, 16), 4: (5, 6, 13)}
_TINTS = ((255, 245, 220), (225, 240, 255), (230, 250, 230), (245, 230, 250))
TEMPLATES = (
    "What text is shown in the image?",
    "Read the text in the image.",
    "What does the image say?",
)


def generate(rng: random.Random, level: int, size: int) -> Sample:
    lo, hi, fsize = _LEVELS[level]
    text = "".join(rng.choice(CHARSET) for _ in range(rng.randint(lo, hi)))
    img, draw = canvas(size, _TINTS[rng.randrange(len(_TINTS))] if level >= 3 else WHITE)
    if level == 4:
        for _ in range(2):
            y0, y1 = rng.randrange(size), rng.randrange(size)
            draw.line((0, y0, size - 1, y1), fill=LIGHT_GREY, width=1)
    if level in ALIGNED_LEVELS:  # one character per token cell (see draw.py)
        draw_cells(draw, text, size, rng.randint(0, CELLS - len(text)), rng.randrange(CELLS))
    else:
        place_text(rng, draw, text, size, fsize)
    return Sample(
        domain="ocr", level=level, question=rng.choice(TEMPLATES), answer=text, final=text,
        think=f"The text reads {' '.join(text)}.",
        caption=f"The image shows the text {text}.",
        text=f"The text {text} is spelled {', '.join(text)}.",
        frames=[img], pretrain_kind="ocr",
        meta={"level": level, "length": len(text)},
    )


def vocabulary() -> list[str]:
    return list(TEMPLATES) + [
        f"The text reads {' '.join(CHARSET)}.",
        f"The image shows the text {CHARSET}.",
        f"The text {CHARSET[:6]} is spelled {', '.join(CHARSET)}.",
    ]
