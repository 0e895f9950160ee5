"""thinkvl's own RL/eval records (``{id, domain, prompt, answer, meta}``) and the synthetic
world's held-out file, scored by the reward system's domain verifiers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from thinkvl.eval.benchmarks.base import (
    CHOICE,
    GROUNDING,
    GUI,
    NATIVE,
    OCR,
    BenchmarkSpec,
    EvalItem,
    register,
)

_DOMAIN_FAMILY = {"choice": CHOICE, "ocr": OCR, "grounding": GROUNDING, "gui": GUI}


def items_from_records(records, bench: str = "records",
                       base_dir: str | Path | None = None) -> Iterator[EvalItem]:
    """EvalItems from thinkvl RL/eval records (dicts with id, domain, prompt, answer, meta).
    Relative media paths resolve against the record's file (``_source``), else ``base_dir``."""
    from thinkvl.data.io import base_dir_of

    for n, rec in enumerate(records):
        missing = [k for k in ("domain", "prompt", "answer") if k not in rec]
        if missing:
            where = rec.get("_source", f"record {n}")
            raise ValueError(f"{where}: not an RL/eval record (missing {', '.join(missing)})")
        base = base_dir_of(rec) or base_dir
        prompt = rec["prompt"]
        text = " ".join(p.get("text", "") for m in prompt if isinstance(m.get("content"), list)
                        for p in m["content"]) or " ".join(
            m["content"] for m in prompt if isinstance(m.get("content"), str))
        yield EvalItem(id=str(rec.get("id", n)), bench=bench,
                       family=_DOMAIN_FAMILY.get(rec["domain"], NATIVE), domain=rec["domain"],
                       prompt=prompt, answer=rec["answer"], question=text.strip(),
                       base_dir=str(base) if base else None, meta=dict(rec.get("meta") or {}))


def load_records(path: Path, bench: str = "records") -> Iterator[EvalItem]:
    """thinkvl's own RL/eval record files (JSONL/Parquet, globs or folders)."""
    from thinkvl.data.io import read_records

    yield from items_from_records(read_records(str(path), kind="rl"), bench=bench)


def load_synthetic(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """The synthetic world's held-out ``rl_eval.jsonl`` (a world folder or the file itself)."""
    file = path / "rl_eval.jsonl" if path.is_dir() else path
    if not file.exists():
        raise FileNotFoundError(f"{file}: no rl_eval.jsonl; make a world with `thinkvl synth`")
    yield from load_records(file, bench="synthetic")


register(BenchmarkSpec("records", lambda path, skipped: load_records(path), "records", NATIVE,
                       "thinkvl RL/eval records (JSONL/Parquet)"))
register(BenchmarkSpec("synthetic", load_synthetic, "synthetic", NATIVE,
                       "the synthetic world's rl_eval.jsonl"))
