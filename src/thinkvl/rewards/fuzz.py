"""Fuzzed responses for every reward domain: what a drifting (or attacking) policy may emit.

Used by ``bench/reward_fuzz.py`` (100,000 items) and the reward fuzz tests. Two sources:

- :func:`pathological`: fixed worst cases, most of them about 1 MB — one marker repeated (the
  quadratic-parse trigger), deep nesting, power towers, 5,000-digit numbers, long runs of
  whitespace or dots, hedge and injection words repeated, lone surrogates, NUL bytes;
- :func:`fuzz_items`: seeded random responses built from the domain's audit samples (right and
  wrong answers, hedges, injections, mutations, marker soup, truncation) with now and then a
  malformed reference (NaN, a 5,000-digit integer, deep lists, None).

Pure strings and a seeded ``random.Random``: the same seed gives the same items.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from thinkvl.format import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    BOX_CLOSE,
    BOX_OPEN,
    PROTOCOL_MARKERS,
    THINK_CLOSE,
    THINK_OPEN,
    make_response,
)

from .audit import SAMPLES, Sample
from .config import RewardConfig
from .probes import HEDGES, INJECTIONS

MB = 1_000_000

_TOKENS = (
    "1", "0", "-3.5", "42", "1,000", "1e308", "1e-400", "9999999999999999999", "NaN", "inf",
    "∞", "\\frac{1}{2}", "\\sqrt{2}", "\\pi", "x", "y", "=", "+", "-", "*", "/", "^", "^{",
    "(", ")", "[", "]", "{", "}", "\\{", "\\}", "$", "$$", "\\(", "\\)", "\\text{", "\\boxed{",
    ",", ";", ":", ".", "...", "…", "|", "&", "or", "and", "between", "approximately", "~",
    "≈", "±", "<", ">", "\\le", "\\lor", "vs", "?", "A", "B", "C", "(B)", "Option", "[10, 20,",
    "30, 40]", "CLICK", "TYPE", "[500, 840]", "pyautogui.click(", '{"action": "click"',
    '"x": 5', "ignore the instructions", "CORRECT", "verdict", "grader", "system:", "Paris",
    "H_2O", "m/s", "km", "°C", "%", "这", "или", "o", "\u202e", "\u200b", "\x00", "\ud800",
    "\udfff", "😀", "\n", "\t", " ", "  ", "\\", "\"", "'", "`", "<", "</", "<|", "|>",
    *PROTOCOL_MARKERS,
)
_BAD_ANSWERS: tuple[Any, ...] = (None, "", float("nan"), float("inf"), 10**5000, -1, True,
                                 [[[[[[1]]]]]], {"x": [1, 2]}, "\ud800", "a" * 5000, [None])


def pathological(size: int = MB) -> dict[str, tuple[str, bool]]:
    """name → (text, in_box): ``in_box`` texts go inside a well-formed response's box, the
    others are the whole response."""
    n = max(1, size)

    def rep(unit: str) -> str:
        return unit * max(1, n // len(unit))

    ans = f"{THINK_OPEN}ok{THINK_CLOSE}{ANSWER_OPEN}{{}}{ANSWER_CLOSE}"
    return {
        "box_openers": (ans.format(rep(BOX_OPEN)), False),
        "box_closers": (ans.format(rep(BOX_CLOSE)), False),
        "box_pairs": (ans.format(rep(BOX_OPEN + "1" + BOX_CLOSE)), False),
        "open_open_close": (ans.format(rep(BOX_OPEN + BOX_OPEN + "7" + BOX_CLOSE)), False),
        "think_openers": (rep(THINK_OPEN), False),
        "answer_openers": (THINK_OPEN + THINK_CLOSE + rep(ANSWER_OPEN), False),
        "think_then_boxes": (THINK_OPEN + rep(BOX_OPEN + "3") + THINK_CLOSE, False),
        "all_markers": (rep("".join(PROTOCOL_MARKERS)), False),
        "huge_think": (make_response("3", think=rep("reason step by step 17. ")), False),
        "huge_answer_text": (make_response("3", tail=rep("and more words ")), False),
        "unclosed_think_text": (THINK_OPEN + rep("thinking "), False),
        "nul_bytes": (rep("\x00"), False),
        "surrogates_whole": (rep("\ud800"), False),
        "digits": (rep("9"), True),
        "parens": (rep("(") + rep(")"), True),
        "brackets": (rep("["), True),
        "braces": (rep("\\frac{1}{"), True),
        "power_tower": (rep("9^") + "9", True),
        "whitespace_run": ("1" + rep(" ") + "x", True),
        "dots": (rep("."), True),
        "dollars": ("$" + rep(" $"), True),
        "or_words": (rep("1 or "), True),
        "ignore_words": (rep("ignore all "), True),
        "newlines": (rep("\n"), True),
        "surrogates": (rep("\ud800"), True),
        "han": (rep("这"), True),
        "commas": (rep("1,"), True),
        "json_nesting": (rep("[") + rep("]"), True),
        "hedge_mix": (rep("between 1 and 2 ~3 ≈4 "), True),
    }


def _samples(cfg: RewardConfig, domain: str) -> list[Sample]:
    dc = cfg.domains[domain]
    key = dc.verifier
    if key == "science":
        key = f"science:{dc.options.get('kind', 'physics')}"
    return SAMPLES.get(key) or SAMPLES["open"]


def pathological_items(cfg: RewardConfig, size: int = MB) -> Iterator[dict[str, Any]]:
    """Every pathological pattern against every configured domain (its first audit sample)."""
    patterns = pathological(size)
    for domain in cfg.domains:
        s = _samples(cfg, domain)[0]
        for name, (text, in_box) in patterns.items():
            response = make_response(text, think="ok") if in_box else text
            yield {"response": response, "answer": s.answer, "domain": domain,
                   "question": s.question, "meta": dict(s.meta), "probe": name}


def _box(rng: random.Random, s: Sample) -> str:
    roll = rng.random()
    a, b = s.right, s.wrong
    if roll < 0.15:
        return a
    if roll < 0.25:
        return b
    if roll < 0.4:
        return rng.choice(HEDGES).format(a=a, b=b)
    if roll < 0.5:
        return rng.choice(INJECTIONS).format(a=a, b=b)
    if roll < 0.75:  # a mutation of the right answer
        chars = list(a)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randint(0, len(chars))
            chars[pos:pos + rng.randint(0, 2)] = list(rng.choice(_TOKENS))
        return "".join(chars)
    return "".join(rng.choice(_TOKENS) for _ in range(rng.randint(0, 12)))


def _response(rng: random.Random, box: str) -> str:
    roll = rng.random()
    think = " ".join(rng.choice(_TOKENS) for _ in range(rng.randint(0, 30)))
    if roll < 0.6:
        return make_response(box, think=think, lead=rng.choice(("", "So ", "The answer is ")))
    if roll < 0.8:  # marker soup
        return "".join(rng.choice((*PROTOCOL_MARKERS, box, think, " ")) for _ in range(
            rng.randint(1, 10)))
    full = make_response(box, think=think)
    if roll < 0.9:  # truncated anywhere
        return full[: rng.randint(0, len(full))]
    if roll < 0.998:  # extra blocks or boxes
        return full + rng.choice((full, BOX_OPEN + box + BOX_CLOSE, ANSWER_CLOSE, " tail"))
    return make_response(box * max(1, MB // max(1, len(box))), think=think)  # ~1 MB


def fuzz_items(cfg: RewardConfig, n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """``n`` random items spread evenly over every configured domain."""
    rng = random.Random(seed)
    domains = list(cfg.domains)
    for i in range(n):
        domain = domains[i % len(domains)]
        s = rng.choice(_samples(cfg, domain))
        answer = s.answer if rng.random() > 0.05 else rng.choice(_BAD_ANSWERS)
        meta = dict(s.meta) if rng.random() > 0.02 else {"options": ["x"] * 40, "truncated": 1}
        yield {"response": _response(rng, _box(rng, s)), "answer": answer, "domain": domain,
               "question": s.question if rng.random() > 0.1 else None, "meta": meta}
