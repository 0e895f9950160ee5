"""The text a small BPE tokenizer for the synthetic world is trained on.

It must cover every word any generator can emit, so it is built two ways at once: every template
phrase each domain lists (all colours, shapes, labels...) and the texts of a fixed-seed batch of
real samples at every level (numbers, boxes, reasoning as actually written). Deterministic.
"""

from __future__ import annotations

import random
import string

from .draw import CHOICE_SHAPES, COLOR_NAMES
from .registry import DOMAINS, GENERATORS, VOCABULARIES
from .sample import LEVELS, Sample
from .words import NUMBER_WORDS, all_position_phrases, plural

_SAMPLES_PER_LEVEL = 24


def _sample_texts(s: Sample) -> list[str]:
    texts = [s.question, s.final, s.think, s.caption, s.text]
    if isinstance(s.answer, str):
        texts.append(s.answer)
    return [t for t in texts if t]


def vocabulary_corpus() -> list[str]:
    """Representative texts: templates, answers, reasoning, captions, option words, digits."""
    out: list[str] = [
        " ".join(string.digits), " ".join(string.ascii_uppercase), " ".join(string.ascii_lowercase),
        " ".join(str(n) for n in range(0, 1001)),
        " ".join(NUMBER_WORDS), " ".join(COLOR_NAMES),
        " ".join(CHOICE_SHAPES + tuple(plural(s) for s in CHOICE_SHAPES)),
        " ".join(all_position_phrases()), "/nothink",
    ]
    for domain in DOMAINS:
        out += VOCABULARIES[domain]()
        rng = random.Random(f"thinkvl-vocab/{domain}")
        for level in LEVELS:
            for _ in range(_SAMPLES_PER_LEVEL):
                out += _sample_texts(GENERATORS[domain](rng, level, 64))
    return out
