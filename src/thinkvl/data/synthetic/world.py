"""Generate the whole synthetic world: four JSONL files, their media and a manifest.

Proportions per domain, for ``per_domain = N``:
  rl_train N · sft N (every 5th /nothink, i.e. 20%) · rl_eval max(N // 4, 16) · pretrain N
  (of which 1/8 interleaved pairs, 1/8 text-only, the rest the domain's own kind: caption, ocr,
  grounding or video; the video domain has no interleaved records).
Levels 1–4 (or the chosen subset, e.g. ``levels=(1, 2)`` for a quick laptop demo) are assigned
round-robin, so every file is balanced across levels.

Determinism: every (seed, domain, file) pair has its own random stream, seeded from a string
(hashed with SHA-512 by :mod:`random`, stable across runs and platforms). Held-out evaluation:
rl_eval is drawn first (unique by (pixels, question)); rl_train, sft and pre-training redraw any
sample whose pixels rl_eval shows, so no eval image is seen in training — not even under another
question: at the easy levels a question template is a paraphrase of the same item (counting's
"How many red squares are there?" / "Count the red squares."), and an image seen in training
with its answer would be recalled, not reasoned about, at evaluation.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .records import pretrain_record, rl_record, sft_record, text_item, text_record
from .registry import GENERATORS, resolve_domains
from .sample import LEVELS, Generator, Sample
from .writer import JsonlWriter, MediaWriter

GENERATOR_VERSION = "1.0"
FILES = ("pretrain.jsonl", "sft.jsonl", "rl_train.jsonl", "rl_eval.jsonl")
NOTHINK_EVERY = 5
MAX_REDRAWS = 500
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 32, 1024


def split_sizes(per_domain: int) -> dict[str, int]:
    """Records per domain in each file (see the module docstring)."""
    return {"rl_train.jsonl": per_domain, "sft.jsonl": per_domain,
            "rl_eval.jsonl": max(per_domain // 4, 16), "pretrain.jsonl": per_domain}


def generate_world(out_dir: str | Path, per_domain: int = 1000, seed: int = 0,
                   domains: list[str] | tuple[str, ...] | str | None = None, image_size: int = 64,
                   progress: bool = True, levels: tuple[int, ...] | list[int] = LEVELS) -> dict[str, Any]:
    """Write the world to ``out_dir`` and return its manifest (also saved as manifest.json)."""
    names = resolve_domains(domains)
    levels = tuple(sorted(set(levels)))
    if not levels or any(lv not in LEVELS for lv in levels):
        raise ValueError(f"levels must be a non-empty subset of {list(LEVELS)}, got {list(levels)}")
    if per_domain < 1:
        raise ValueError(f"per_domain must be at least 1, got {per_domain}")
    if not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise ValueError(f"image_size must be within {MIN_IMAGE_SIZE}..{MAX_IMAGE_SIZE} pixels "
                         f"(text is illegible below {MIN_IMAGE_SIZE}), got {image_size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sizes = split_sizes(per_domain)
    media = MediaWriter(out)
    writers = {name: JsonlWriter(out / name) for name in FILES}
    redrawn: dict[str, int] = {}
    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    try:
        with Progress(*columns, console=Console(stderr=True), disable=not progress) as bar:
            for domain in names:
                task = bar.add_task(domain, total=sum(sizes.values()))
                media.clear(domain)
                world = _DomainWriter(domain, GENERATORS[domain], seed, image_size, media,
                                      writers, lambda: bar.advance(task), levels)
                redrawn[domain] = world.write(sizes)
    finally:
        for w in writers.values():
            w.close()
    manifest = {
        "generator": "thinkvl.data.synthetic",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "image_size": image_size,
        "per_domain": per_domain,
        "domains": names,
        "levels": list(levels),
        "records_per_domain": sizes,
        "proportions": "rl_train N; sft N (20% /nothink); rl_eval max(N//4, 16); pretrain N "
                       "(1/8 interleaved, 1/8 text, rest the domain's kind)",
        "files": {name: writers[name].counts() for name in FILES},
        "media_files": media.files,
        "redrawn_eval_collisions": redrawn,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


class _DomainWriter:
    """Draws one domain's samples for every file, holding rl_eval out of the others."""

    def __init__(self, domain: str, gen: Generator, seed: int, size: int, media: MediaWriter,
                 writers: dict[str, JsonlWriter], advance: Callable[[], None],
                 levels: tuple[int, ...] = LEVELS) -> None:
        self.domain, self.gen, self.seed, self.size = domain, gen, seed, size
        self.levels = levels
        self.media, self.writers, self.advance = media, writers, advance
        self.eval_keys: set[str] = set()
        self.eval_images: set[str] = set()
        self.redrawn = 0

    def write(self, sizes: dict[str, int]) -> int:
        """Write all four files' records; returns how many draws hit an eval item."""
        self._eval(sizes["rl_eval.jsonl"])
        self._train(sizes["rl_train.jsonl"])
        self._sft(sizes["sft.jsonl"])
        self._pretrain(sizes["pretrain.jsonl"])
        return self.redrawn

    def _rng(self, split: str) -> random.Random:
        return random.Random(f"thinkvl-synth/{self.seed}/{self.domain}/{split}")

    def _draw(self, rng: random.Random, i: int, reject: Callable[[Sample], bool],
              count: bool = True) -> Sample:
        level = self.levels[i % len(self.levels)]
        for _ in range(MAX_REDRAWS):
            sample = self.gen(rng, level, self.size)
            if not reject(sample):
                return sample
            self.redrawn += count
        raise RuntimeError(
            f"{self.domain}: no new level-{level} sample after {MAX_REDRAWS} draws; this level "
            "has too few distinct items for the requested counts (lower --per-domain)")

    def _held_out(self, sample: Sample) -> bool:
        """Whether rl_eval shows this sample's pixels (by content; a sample without pixels:
        whether rl_eval holds its question)."""
        if sample.frames:
            return sample.image_key() in self.eval_images
        return sample.key() in self.eval_keys

    def _eval(self, n: int) -> None:
        rng = self._rng("eval")
        for i in range(n):
            s = self._draw(rng, i, lambda s: s.key() in self.eval_keys, count=False)  # rl_eval unique
            self.eval_keys.add(s.key())
            self.eval_images.add(s.image_key())
            item = self.media.save(s, f"eval-{i:06d}")
            self.writers["rl_eval.jsonl"].write(
                rl_record(f"{self.domain}-eval-{i:06d}", s, item), self.domain)
            self.advance()

    def _train(self, n: int) -> None:
        rng = self._rng("train")
        for i in range(n):
            s = self._draw(rng, i, self._held_out)
            item = self.media.save(s, f"train-{i:06d}")
            self.writers["rl_train.jsonl"].write(
                rl_record(f"{self.domain}-train-{i:06d}", s, item), self.domain)
            self.advance()

    def _sft(self, n: int) -> None:
        rng = self._rng("sft")
        for i in range(n):
            s = self._draw(rng, i, self._held_out)
            item = self.media.save(s, f"sft-{i:06d}")
            nothink = i % NOTHINK_EVERY == NOTHINK_EVERY - 1
            self.writers["sft.jsonl"].write(
                sft_record(f"{self.domain}-sft-{i:06d}", s, item, nothink), self.domain,
                "nothink" if nothink else "think")
            self.advance()

    def _pretrain(self, n: int) -> None:
        rng = self._rng("pretrain")

        for i in range(n):
            rid, stem = f"{self.domain}-pretrain-{i:06d}", f"pretrain-{i:06d}"
            s = self._draw(rng, i, self._held_out)
            slot = i % 8
            if slot == 7:
                record, kind = text_record(rid, s.text or s.caption), "text"
            elif slot == 6 and not s.video:
                s2 = self._draw(rng, i + 1, self._held_out)
                parts = [self.media.save(s, stem), text_item(s.caption),
                         self.media.save(s2, f"{stem}-2"), text_item(s2.caption)]
                record, kind = pretrain_record(rid, "interleaved", parts), "interleaved"
            else:
                kind = s.pretrain_kind
                parts = [self.media.save(s, stem), text_item(s.caption)]
                record = pretrain_record(rid, kind, parts)
            self.writers["pretrain.jsonl"].write(record, self.domain, kind)
            self.advance()
