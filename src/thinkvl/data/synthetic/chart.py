"""Charts: bar charts (later also line charts) with small integer values.

Values are read from heights against one light gridline per unit (there is no room for tick
labels at 64 pixels). Questions ask for a value (number answer) or which bar is tallest or
shortest (a colour word; values are then distinct so the answer is unique).
"""

from __future__ import annotations

import random

from PIL import ImageDraw

from .draw import ALIGNED_LEVELS, BLACK, CELLS, COLOR_NAMES, COLORS, LIGHT_GREY, canvas, cell_size, px
from .sample import Sample
from .words import sentence

# level: (bars or points (min, max), max value, share of line charts)
_LEVELS = {1: ((2, 2), 4, 0.0), 2: ((3, 3), 4, 0.0), 3: ((4, 4), 6, 0.5), 4: ((5, 6), 8, 0.5)}
# Token-aligned levels (see draw.py): each bar fills one column of cells, one cell per unit.
BAR_QUESTIONS = {
    "value": "What is the value of the {color} bar?",
    "max": "Which bar is tallest?",
    "min": "Which bar is shortest?",
}
LINE_QUESTIONS = {
    "first": "What is the value of the first point?",
    "last": "What is the value of the last point?",
    "max": "What is the highest value in the line chart?",
}


class _Plot:
    """Axes and gridlines; maps a value to a pixel row."""

    def __init__(self, draw: ImageDraw.ImageDraw, size: int, vmax: int, n: int) -> None:
        self.x0, self.x1 = px(5, size), size - px(3, size)
        self.top, self.base = px(4, size), size - px(5, size)
        self.unit = (self.base - self.top) / vmax
        self.slot = (self.x1 - self.x0) / n
        for k in range(1, vmax + 1):
            draw.line((self.x0, self.y(k), self.x1, self.y(k)), fill=LIGHT_GREY)
        draw.line((self.x0 - 1, self.top, self.x0 - 1, self.base), fill=BLACK)
        draw.line((self.x0 - 1, self.base, self.x1, self.base), fill=BLACK)

    def y(self, value: int) -> int:
        return self.base - round(value * self.unit)

    def x(self, i: int) -> int:
        return self.x0 + round((i + 0.5) * self.slot)


def generate(rng: random.Random, level: int, size: int) -> Sample:
    (lo, hi), vmax, p_line = _LEVELS[level]
    n = rng.randint(lo, hi)
    if rng.random() < p_line:
        return _line(rng, level, size, n, vmax)
    return _bars(rng, level, size, min(n, len(COLOR_NAMES)), vmax)  # one colour per bar


def _bars(rng: random.Random, level: int, size: int, n: int, vmax: int) -> Sample:
    qtype = rng.choice(("value", "value", "max", "min"))
    colors = rng.sample(COLOR_NAMES, n)
    if qtype == "value":
        values = [rng.randint(1, vmax) for _ in range(n)]
    else:
        values = rng.sample(range(1, vmax + 1), n)
    img, draw = canvas(size)
    if level in ALIGNED_LEVELS and vmax <= CELLS:
        cell, gap = cell_size(size), px(2, size)
        for col, c, v in zip(sorted(rng.sample(range(CELLS), n)), colors, values):
            draw.rectangle((col * cell + gap, size - v * cell, (col + 1) * cell - gap - 1, size - 1),
                           fill=COLORS[c])
    else:
        plot = _Plot(draw, size, vmax, n)
        bw = max(2, round(plot.slot * rng.choice((0.5, 0.6, 0.7))))  # more distinct level-1 items
        for i, (c, v) in enumerate(zip(colors, values)):
            left = plot.x(i) - bw // 2
            draw.rectangle((left, plot.y(v), left + bw - 1, plot.base - 1), fill=COLORS[c])
    listing = ", ".join(f"{c} {v}" for c, v in zip(colors, values))
    if qtype == "value":
        i = rng.randrange(n)
        answer: int | str = values[i]
        question = BAR_QUESTIONS["value"].format(color=colors[i])
        think = f"The {colors[i]} bar reaches {values[i]}."
    else:
        pick = max if qtype == "max" else min
        answer = colors[values.index(pick(values))]
        question = BAR_QUESTIONS[qtype]
        word = "tallest" if qtype == "max" else "shortest"
        think = f"Heights: {listing}. The {answer} bar is {word}."
    return Sample(
        domain="chart", level=level, question=question, answer=answer, final=str(answer),
        think=think, caption=sentence(f"A bar chart: {listing}"), frames=[img],
        meta={"level": level, "chart": "bar", "question_type": qtype, "values": values,
              "colors": colors},
    )


def _line(rng: random.Random, level: int, size: int, n: int, vmax: int) -> Sample:
    qtype = rng.choice(tuple(LINE_QUESTIONS))
    values = [rng.randint(1, vmax) for _ in range(n)]
    img, draw = canvas(size)
    plot = _Plot(draw, size, vmax, n)
    points = [(plot.x(i), plot.y(v)) for i, v in enumerate(values)]
    draw.line(points, fill=COLORS["blue"], width=px(2, size))
    r = px(1.5, size)
    for x, y in points:
        draw.rectangle((x - r, y - r, x + r, y + r), fill=BLACK)
    listing = ", ".join(str(v) for v in values)
    if qtype == "max":
        answer = max(values)
        think = f"Points: {listing}. The highest is {answer}."
    else:
        answer = values[0] if qtype == "first" else values[-1]
        think = f"The {qtype} point is at {answer}."
    return Sample(
        domain="chart", level=level, question=LINE_QUESTIONS[qtype], answer=answer,
        final=str(answer), think=think, caption=f"A line chart with values {listing}.",
        frames=[img],
        meta={"level": level, "chart": "line", "question_type": qtype, "values": values},
    )


def vocabulary() -> list[str]:
    out = list(LINE_QUESTIONS.values()) + [BAR_QUESTIONS["max"], BAR_QUESTIONS["min"]]
    for c in COLOR_NAMES:
        out += [BAR_QUESTIONS["value"].format(color=c), f"The {c} bar reaches 8."]
        out += [f"Heights: {c} 1, {c} 2. The {c} bar is {w}." for w in ("tallest", "shortest")]
        out.append(f"A bar chart: {c} 3, {c} 5.")
    out += ["Points: 3, 5, 2, 4. The highest is 5.", "The first point is at 4.",
            "The last point is at 6.", "A line chart with values 1, 2, 3, 4, 5, 6, 7, 8."]
    return out
