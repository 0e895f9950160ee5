"""A sampled mutation score: do the tests fail when the code of ``rl/`` and ``rewards/`` is wrong?

Full mutation testing (mutmut) of these packages runs the suite thousands of times; on 2 CPU
cores that is days. This script draws a random sample of mutants instead — one small change
each, the kind a slip of the keyboard makes: a comparison flipped (``<`` ↔ ``<=``, ``==`` ↔
``!=``), an arithmetic operator swapped (``+`` ↔ ``-``, ``*`` ↔ ``/``), ``and`` ↔ ``or``, a
boolean constant negated, a number moved by one — applies each to a copy of the source tree,
runs the tests that cover the package (``-x``, a time limit per mutant), and reports how many
mutants some test killed. Survivors are listed with file, line and the change, to read: some
are equivalent mutants (no behaviour changes), the rest are tests to write.

    python bench/mutation_sample.py --n 40 --seed 0 --out docs/mutation_sample.json

Not part of the test suite (it *runs* the suite). Each mutant costs one run of the selected
tests (tens of seconds here).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The tests that cover each package and run in seconds (no trained-model fixtures).
TESTS = {
    "rl": ["tests/rl/test_algorithms.py", "tests/rl/test_curriculum.py", "tests/rl/test_batch.py",
           "tests/rl/test_mismatch.py", "tests/rl/test_metrics.py", "tests/rl/test_preflight.py", "tests/rl/test_fast_paths.py",
           "tests/rl/test_sampling_defaults.py",
           "--deselect", "tests/rl/test_fast_paths.py::test_greedy_decoding_equals_the_reference_on_a_trained_model"],
    "rewards": ["tests/rewards"],
}
SWAPS = {ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">", ast.Eq: "!=", ast.NotEq: "==",
         ast.Add: "-", ast.Sub: "+", ast.Mult: "/", ast.Div: "*"}
TEXT = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
        ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


@dataclass
class Mutant:
    file: str
    line: int
    col: int
    old: str
    new: str
    killed: bool | None = None
    seconds: float = 0.0
    output: str = ""


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            lines.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    return lines


def candidates(path: Path) -> list[Mutant]:
    """Every single-token mutation point of one file (operators found between their operands
    on one line, so the edit is exact)."""
    src = path.read_text(encoding="utf-8")
    lines = src.splitlines()
    tree = ast.parse(src)
    skip = _docstring_lines(tree)
    rel = str(path.relative_to(ROOT))
    out: list[Mutant] = []

    def between(a: ast.AST, b: ast.AST, token: str, new: str) -> None:
        if a.end_lineno != b.lineno or a.end_lineno in skip:
            return
        text = lines[a.end_lineno - 1]
        seg = text[a.end_col_offset:b.col_offset]
        i = seg.find(token)
        if i >= 0 and seg.count(token) == 1:
            out.append(Mutant(rel, a.end_lineno, a.end_col_offset + i, token, new))

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in SWAPS:
            between(node.left, node.comparators[0], TEXT[type(node.ops[0])], SWAPS[type(node.ops[0])])
        elif isinstance(node, ast.BinOp) and type(node.op) in SWAPS:
            between(node.left, node.right, TEXT[type(node.op)], SWAPS[type(node.op)])
        elif isinstance(node, ast.BoolOp) and len(node.values) == 2:
            op, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
            between(node.values[0], node.values[1], f" {op} ", f" {new} ")
        elif isinstance(node, ast.Constant) and node.lineno not in skip and node.lineno == node.end_lineno:
            text = lines[node.lineno - 1][node.col_offset:node.end_col_offset]
            if node.value is True and text == "True":
                out.append(Mutant(rel, node.lineno, node.col_offset, "True", "False"))
            elif node.value is False and text == "False":
                out.append(Mutant(rel, node.lineno, node.col_offset, "False", "True"))
            elif type(node.value) is int and text.isdigit():
                out.append(Mutant(rel, node.lineno, node.col_offset, text, str(node.value + 1)))
    return out


def apply(tree_root: Path, m: Mutant) -> None:
    path = tree_root / m.file
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    line = lines[m.line - 1]
    assert line[m.col:m.col + len(m.old)] == m.old, (m, line)
    lines[m.line - 1] = line[:m.col] + m.new + line[m.col + len(m.old):]
    path.write_text("".join(lines), encoding="utf-8")


def run_tests(tree_root: Path, package: str, timeout: float) -> tuple[bool, str]:
    """True when a test failed (the mutant is killed); a run past ``timeout`` counts as killed."""
    env = {**os.environ, "PYTHONPATH": str(tree_root / "src"), "OMP_WAIT_POLICY": "PASSIVE"}
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--timeout", str(int(timeout)),
           *TESTS[package]]
    try:
        proc = subprocess.run(cmd, cwd=tree_root, env=env, capture_output=True, text=True, timeout=timeout + 60)
    except subprocess.TimeoutExpired:
        return True, "timed out"
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or [""]
    return proc.returncode != 0, tail[0][:300]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=40, help="mutants per package")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--packages", nargs="+", default=["rl", "rewards"], choices=sorted(TESTS))
    ap.add_argument("--timeout", type=float, default=300, help="seconds per mutant's test run")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    results: dict[str, list[Mutant]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "tree"
        for part in ("src", "tests", "bench", "configs", "pyproject.toml"):  # tests read bench scripts and configs
            (shutil.copytree if (ROOT / part).is_dir() else shutil.copy)(ROOT / part, copy / part)
        for package in args.packages:
            pool = [m for f in sorted((ROOT / "src" / "thinkvl" / package).rglob("*.py")) for m in candidates(f)]
            sample = rng.sample(pool, min(args.n, len(pool)))
            baseline, tail = run_tests(copy, package, args.timeout)
            if baseline:
                raise SystemExit(f"the {package} tests fail without any mutant: {tail}")
            for i, m in enumerate(sample, 1):
                original = (copy / m.file).read_text(encoding="utf-8")
                apply(copy, m)
                start = time.perf_counter()
                m.killed, m.output = run_tests(copy, package, args.timeout)
                m.seconds = time.perf_counter() - start
                (copy / m.file).write_text(original, encoding="utf-8")
                print(f"[{package} {i}/{len(sample)}] {'killed ' if m.killed else 'SURVIVED'} "
                      f"{m.file}:{m.line} {m.old!r} -> {m.new!r} ({m.seconds:.0f} s)", flush=True)
            results[package] = sample
    summary = {p: {"mutants": len(ms), "killed": sum(bool(m.killed) for m in ms),
                   "score": sum(bool(m.killed) for m in ms) / max(1, len(ms)),
                   "survivors": [asdict(m) for m in ms if not m.killed]} for p, ms in results.items()}
    summary["settings"] = {"n": args.n, "seed": args.seed, "tests": {p: TESTS[p] for p in args.packages}}
    for p in args.packages:
        print(f"{p}: {summary[p]['killed']}/{summary[p]['mutants']} killed ({summary[p]['score']:.0%})")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
