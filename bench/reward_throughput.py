"""Reward throughput: full-pipeline verifications per second per domain on one core, plus p99.

"Full pipeline" is what ``RewardSystem.score_batch`` does per item: protocol parse, format
check, guards, box extraction, the domain verifier (math: fast path, then math-verify in the
worker process), penalties and stats. Items are unique (no verdict-cache hits) and shaped like
real rollouts: a few hundred characters of non-repetitive reasoning, ~70 % right answers.

    PYTHONPATH=src .venv/bin/python bench/reward_throughput.py            # full run
    PYTHONPATH=src .venv/bin/python bench/reward_throughput.py --n 200    # quick look

Targets (from the reward-system issue): ≥ 50,000/s for choice, counting, ocr and exact-match
domains; math ≥ 5,000/s on a realistic mix and ≥ 1,000/s on symbolic pairs alone; ≥ 90 % of
non-identical equivalent math answers accepted without a judge; no item over its time limit.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from thinkvl.format import make_response
from thinkvl.rewards import RewardSystem

_TEXT = (
    "the image shows several shapes on a light background and I need to look at each one "
    "carefully before answering; first the top row then the bottom row, checking colour "
    "size and position, comparing against the question, noting which ones are partly "
    "hidden, and finally counting or reading what is asked"
)
WORDS = _TEXT.split()


def think(rng: random.Random, n_words: int = 70) -> str:
    """Non-repetitive reasoning text of a few hundred characters."""
    out = []
    for i in range(n_words):
        out.append(rng.choice(WORDS))
        if rng.random() < 0.12:
            out.append(str(rng.randint(0, 999)))
        if i % 14 == 13:
            out[-1] += "."
    return " ".join(out)


Item = dict[str, Any]


def _item(rng: random.Random, domain: str, box: str, answer: Any, **extra: Any) -> Item:
    return {
        "response": make_response(box, think=think(rng), lead="So the answer is "),
        "answer": answer,
        "domain": domain,
        **extra,
    }


def gen_choice(rng: random.Random) -> Item:
    gold = rng.choice("ABCD")
    box = gold if rng.random() < 0.7 else rng.choice(["A", "B", "C", "D", f"({gold})", "A, B"])
    return _item(rng, "choice", box, gold)


def gen_counting(rng: random.Random) -> Item:
    n = rng.randint(0, 12)
    box = str(n) if rng.random() < 0.7 else rng.choice([str(n + 1), f"{n} squares", "two"])
    return _item(rng, "counting", box, n)


def gen_ocr(rng: random.Random) -> Item:
    chars = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    gold = "".join(rng.choice(chars) for _ in range(rng.randint(2, 8)))
    box = gold
    if rng.random() > 0.7:
        i = rng.randrange(len(gold))
        box = gold[:i] + rng.choice(chars) + gold[i + 1 :]
    return _item(rng, "ocr", box, gold)


def gen_exact(rng: random.Random) -> Item:
    gold = rng.choice(["left", "right", "up", "down", "red", "blue", "green", "cat", "dog", "car"])
    box = gold if rng.random() < 0.7 else rng.choice(["Left", "the " + gold, "yellow", "tree"])
    return _item(rng, rng.choice(["vqa", "video"]), box, gold)


def gen_chart(rng: random.Random) -> Item:
    gold = rng.randint(10, 5000)
    box = (
        str(gold)
        if rng.random() < 0.7
        else rng.choice([str(int(gold * 1.02)), str(gold * 2), f"{gold}%", f"{gold:,}"])
    )
    return _item(rng, "chart", box, gold)


def gen_grounding(rng: random.Random) -> Item:
    x, y = rng.randint(0, 600), rng.randint(0, 600)
    gold = [[x, y, x + rng.randint(50, 300), y + rng.randint(50, 300)]]
    dx = rng.randint(-10, 10) if rng.random() < 0.7 else rng.randint(150, 300)
    b = gold[0]
    box = f"[{max(0, b[0] + dx)}, {b[1]}, {min(1000, b[2] + dx)}, {b[3]}]"
    return _item(rng, "grounding", box, gold)


def gen_gui(rng: random.Random) -> Item:
    x, y = rng.randint(0, 800), rng.randint(0, 800)
    gold = {"action": "click", "bbox": [x, y, x + 120, y + 60]}
    px, py = (x + 60, y + 30) if rng.random() < 0.7 else (x + 300, y + 200)
    px, py = min(px, 1000), min(py, 1000)
    box = rng.choice(
        [
            f"CLICK [{px}, {py}]",
            f"pyautogui.click({px}, {py})",
            f'{{"action_type": "click", "x": {px}, "y": {py}}}',
        ]
    )
    return _item(rng, "gui", box, gold)


def _sym_pair(rng: random.Random) -> tuple[str, str, bool | None]:
    """(reference, prediction, equivalent?) needing more than string equality; None = rounded."""
    a, b, c = rng.randint(2, 400), rng.randint(2, 400), rng.randint(1, 9)
    kind = rng.randrange(15)
    if kind == 0:
        if rng.random() < 0.3:
            return f"\\frac{{{a}}}{{{a + b}}}", repr(round(a / (a + b), 6)), None
        return f"\\frac{{{a}}}{{{a + b}}}", f"{a}/{a + b}", True
    if kind == 1:
        return f"{c}\\sqrt{{{b}}}", f"\\sqrt{{{c * c * b}}}", True
    if kind == 2:
        return f"(x+{a})^2", f"x^2+{2 * a}x+{a * a}", True
    if kind == 3:
        return f"\\{{{a},{b}\\}}", f"\\{{{b}, {a}\\}}", True
    if kind == 4:
        return f"\\frac{{{a}\\pi}}{{{b}}}", f"{a}\\pi/{b}", True
    if kind == 5:
        return f"{a * b}", f"x = {a * b}", True
    if kind == 6:
        return f"{a}^{{{c}}}", str(a**c), True
    if kind == 7:
        return f"\\frac{{1}}{{\\sqrt{{{b}}}}}", f"\\frac{{\\sqrt{{{b}}}}}{{{b}}}", True
    if kind == 8:  # trig identity
        return f"{a}", f"{a}\\sin^2 x + {a}\\cos^2 x", True
    if kind == 9:  # logarithm
        return f"{c}", f"\\log_{{2}} {2**c}", True
    if kind == 10:  # interval spelled with \left/\right
        return f"[{a}, {a + b})", f"\\left[{a},{a + b}\\right)", True
    if kind == 11:  # a flipped relation
        return f"x > {a}", f"{a} < x", True
    if kind == 12:  # a system written in another order
        return f"x={a}, y={b}", f"y={b}, x={a}", True
    if kind == 13:  # "x = a or x = b": the fast path declines, math-verify settles these
        return f"x = {a} \\text{{ or }} x = {b}", f"x={b}, x={a}", True
    if rng.random() < 0.7:
        return f"{a}x+{b}", f"{b}+{a}x", True
    return f"{a}x+{b}", f"{b}x+{a}", a == b


def gen_math_symbolic(rng: random.Random) -> Item:
    gold, pred, _ = _sym_pair(rng)
    return _item(rng, "math", pred, gold)


def gen_math_mix(rng: random.Random) -> Item:
    if rng.random() < 0.5:
        n = rng.randint(0, 10_000)
        gold = str(n) if rng.random() < 0.6 else repr(n / 8)
        pred = (
            gold
            if rng.random() < 0.6
            else rng.choice([gold + ".0" if "." not in gold else gold, str(n + 1)])
        )
        return _item(rng, "math", pred, gold)
    return gen_math_symbolic(rng)


GENERATORS: dict[str, Callable[[random.Random], Item]] = {
    "choice": gen_choice,
    "counting": gen_counting,
    "ocr": gen_ocr,
    "exact_match": gen_exact,
    "chart": gen_chart,
    "grounding": gen_grounding,
    "gui": gen_gui,
    "math_mix": gen_math_mix,
    "math_symbolic": gen_math_symbolic,
}
TARGETS = {
    "choice": 50_000,
    "counting": 50_000,
    "ocr": 50_000,
    "exact_match": 50_000,
    "math_mix": 5_000,
    "math_symbolic": 1_000,
}


def pin_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})  # the math workers, started later, inherit this
        return f"cpu {cpu}"
    except (AttributeError, OSError):
        return "unpinned"


def _worker_cpu_s(rs: RewardSystem) -> float:
    """CPU seconds used so far by the math worker processes (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for pid in rs.math.pool.pids():
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            pass
    return total


def measure(rs: RewardSystem, name: str, n: int, latency_n: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    gen = GENERATORS[name]
    items = [gen(rng) for _ in range(n)]
    rs.math.cache.clear()
    cpu0, wcpu0 = time.process_time(), _worker_cpu_s(rs)
    start = time.perf_counter()
    results = rs.score_batch(items)
    batch_s = time.perf_counter() - start
    cpu_s = time.process_time() - cpu0 + _worker_cpu_s(rs) - wcpu0
    lat_items = [gen(rng) for _ in range(latency_n)]
    rs.math.cache.clear()
    lat = []
    for item in lat_items:
        t = time.perf_counter()
        rs.score(**item)
        lat.append(time.perf_counter() - t)
    lat.sort()
    return {
        "domain": name,
        "items": n,
        "per_s": n / batch_s,
        "per_cpu_s": n / max(cpu_s, 1e-9),
        "target_per_s": TARGETS.get(name),
        "correct_rate": sum(r.correct for r in results) / n,
        "p50_ms": 1e3 * statistics.median(lat) if lat else None,
        "p99_ms": 1e3 * lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None,
        "max_ms": 1e3 * lat[-1] if lat else None,
        "timeouts": sum("timeout" in r.flags for r in results),
    }


def equivalence_check(rs: RewardSystem, n: int, seed: int) -> dict[str, Any]:
    """Share of non-identical equivalent math answers accepted by rules alone (no judge)."""
    rng = random.Random(seed)
    pairs: list[tuple[str, str]] = []
    while len(pairs) < n:
        gold, pred, eq = _sym_pair(rng)
        if eq and gold != pred:
            pairs.append((gold, pred))
    items = [{"response": make_response(p), "answer": g, "domain": "math"} for g, p in pairs]
    rs.math.cache.clear()
    before = dict(rs.math.counts)
    res = rs.score_batch(items)
    after = rs.math.counts
    return {
        "equivalent_pairs": len(items),
        "accepted_without_judge": sum(r.correct for r in res) / max(1, len(items)),
        "fast_path": after["fast"] - before["fast"],
        "math_verify": after["symbolic"] - before["symbolic"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20_000, help="items per domain for throughput")
    ap.add_argument("--latency-n", type=int, default=2_000, help="single calls for p50/p99")
    ap.add_argument("--domains", nargs="*", default=list(GENERATORS))
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    where = pin_one_core()
    rows = []
    with RewardSystem() as rs:
        rs.warmup()
        for k, name in enumerate(args.domains):
            n = args.n if not name.startswith("math") else max(1, args.n // 4)
            rows.append(
                measure(
                    rs,
                    name,
                    n,
                    args.latency_n if not name.startswith("math") else max(1, args.latency_n // 4),
                    args.seed + k,
                )
            )
        equiv = equivalence_check(rs, max(10, args.n // 20), args.seed + 99)
        limit_ms = rs.config.math.timeout_s * 1e3
    report = {
        "pinned": where,
        "load_average": os.getloadavg()[0],
        "rows": rows,
        "math_equivalence": equiv,
        "math_time_limit_ms": limit_ms,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"reward throughput, one core ({where}, load average {load:.1f}); full pipeline as "
        "score_batch runs it"
    )
    print(
        "verif/s: wall clock; per CPU-s: items per CPU second of this process plus the math "
        "worker (the fair one-core number on a busy machine)"
    )
    print(
        f"{'domain':14} {'items':>7} {'verif/s':>10} {'per CPU-s':>10} {'target':>8} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'correct':>8}"
    )
    for r in rows:
        target = f"{r['target_per_s']:,}" if r["target_per_s"] else "-"
        flag = "" if not r["target_per_s"] or r["per_cpu_s"] >= r["target_per_s"] else "  BELOW"
        print(
            f"{r['domain']:14} {r['items']:>7} {r['per_s']:>10,.0f} {r['per_cpu_s']:>10,.0f} "
            f"{target:>8} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} {r['max_ms']:>8.2f} "
            f"{r['correct_rate']:>8.2f}{flag}"
        )
    print(
        f"math: {equiv['accepted_without_judge']:.1%} of {equiv['equivalent_pairs']} non-identical "
        f"equivalent answers accepted without a judge (fast path {equiv['fast_path']}, "
        f"math-verify {equiv['math_verify']}); time limit {limit_ms:.0f} ms per item, "
        f"timeouts: {sum(r['timeouts'] for r in rows)}"
    )


if __name__ == "__main__":
    main()
