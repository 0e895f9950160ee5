"""Naming a benchmark on the command line: ``NAME``, ``NAME:PATH``, ``ALIAS=NAME:PATH`` — or just
a path, which is read as thinkvl records (a JSONL/Parquet file) or a synthetic world folder.
Nothing is downloaded: a bare ``NAME`` is looked up under the data root.
"""

from __future__ import annotations

import logging
from pathlib import Path

from thinkvl.eval.benchmarks.base import REGISTRY, Benchmark, EvalItem

log = logging.getLogger("thinkvl.eval")


def _as_path(spec: str) -> Path | None:
    """``spec`` as an existing records file or world folder (``--bench runs/x/eval.jsonl``)."""
    p = Path(spec).expanduser()
    if p.is_file() or (p.is_dir() and (p / "rl_eval.jsonl").is_file()):
        return p
    return None


def parse_bench(spec: str, data_root: str | Path | None = None) -> tuple[str, str, Path]:
    """``NAME``, ``NAME:PATH``, ``ALIAS=NAME:PATH`` or ``PATH`` → (display name, loader, path)."""
    alias, _, rest = spec.partition("=") if "=" in spec else ("", "", spec)
    name, sep, path = rest.partition(":")
    name = name.strip().lower()
    if name not in REGISTRY:
        where = _as_path(rest.strip())
        if where is not None:
            loader = "synthetic" if where.is_dir() else "records"
            return alias.strip() or (where.name if where.is_dir() else where.stem), loader, where
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown benchmark {name!r} in {spec!r} (and no such file); known: "
                         f"{known}. A thinkvl records file can be given as its path")
    if sep and path:
        where = Path(path).expanduser()
    elif data_root is not None:
        where = Path(data_root).expanduser() / REGISTRY[name].default_path
    else:
        raise ValueError(f"benchmark {spec!r} has no path: write {name}:PATH or set a data root "
                         f"(--data-root); no benchmark is downloaded")
    display = alias.strip() or (name if name != "records" else where.stem)
    return display, name, where


def load_benchmark(spec: str, data_root: str | Path | None = None,
                   limit: int | None = None) -> Benchmark:
    """Load one benchmark named as in :func:`parse_bench`; ``limit`` keeps the first N items."""
    display, name, path = parse_bench(spec, data_root)
    items: list[EvalItem] = []
    skipped: dict[str, int] = {}
    for item in REGISTRY[name].loader(path, skipped):
        item.bench = display
        items.append(item)
        if limit is not None and len(items) >= limit:
            break
    if not items:
        raise ValueError(f"benchmark {display} ({path}) holds no items")
    seen: set[str] = set()
    for it in items:
        if it.id in seen:
            raise ValueError(f"benchmark {display} ({path}): item id {it.id!r} appears more "
                             f"than once")
        seen.add(it.id)
    for reason, n in skipped.items():
        log.warning("%s: %d rows %s", display, n, reason)
    return Benchmark(display, path, items, skipped)
