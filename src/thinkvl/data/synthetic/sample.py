"""The one thing every domain generator returns: pixels plus every text view of them.

A single :class:`Sample` feeds all four output files — the RL prompt and answer, the SFT
reasoning and boxed final answer, the pre-training caption — so they can never disagree about
what is drawn.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

LEVELS: tuple[int, ...] = (1, 2, 3, 4)


@dataclass
class Sample:
    domain: str
    level: int
    question: str  # the full user text of the prompt (choice: question plus options)
    answer: Any  # the RL ground truth (JSON value)
    final: str  # what the SFT response puts in the box
    think: str  # short, correct, specific reasoning (≤ ~20 words)
    caption: str  # a truthful description for pre-training
    frames: list[Image.Image]  # one image, or the frames of a video
    pretrain_kind: str = "caption"  # caption | ocr | grounding | video
    text: str = ""  # a text-only pre-training sentence; empty = the caption
    video: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    def image_key(self) -> str:
        """Hash of the pixels (all frames): equal keys mean identical visual content."""
        h = hashlib.sha1()
        for frame in self.frames:
            h.update(frame.tobytes())
        return h.hexdigest()

    def key(self) -> str:
        """Hash of (pixels, question): the identity used to hold eval items out of training."""
        return hashlib.sha1((self.image_key() + "\0" + self.question).encode()).hexdigest()


# Every domain module exposes one of these: draw a sample of ``level`` at ``size`` pixels.
Generator = Callable[[random.Random, int, int], Sample]
