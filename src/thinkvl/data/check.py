"""Whole-file validation for ``thinkvl data check``: every problem of every record, located.

Unlike the training reader (which stops at, or skips, a bad record), a check reads the file to
the end and also catches what needs the whole file: duplicate ids. It streams, holding only the
ids seen so far (a 16-byte digest each) in memory.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thinkvl.data.io import file_format, iter_file
from thinkvl.data.mediacheck import MediaPolicy
from thinkvl.data.schema import Problem, RecordError, detect_kind, normalize_kind, validate_record


@dataclass
class CheckReport:
    """What a check of one file found. ``problems``/``warnings`` keep the first
    ``max_problems`` entries; ``n_problems``/``n_warnings`` count all of them."""

    path: str
    records: int = 0
    bad_records: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_domain: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, domain)
    problems: list[RecordError] = field(default_factory=list)
    warnings: list[RecordError] = field(default_factory=list)
    n_problems: int = 0
    n_warnings: int = 0
    max_problems: int | None = None

    @property
    def ok(self) -> bool:
        return self.n_problems == 0

    def add(self, err: RecordError, *, warning: bool = False) -> None:
        bucket = self.warnings if warning else self.problems
        if warning:
            self.n_warnings += 1
        else:
            self.n_problems += 1
        if self.max_problems is None or len(bucket) < self.max_problems:
            bucket.append(err)


def _group(rec: dict[str, Any], kind: str | None) -> tuple[str, str]:
    """(record kind, domain) for the summary; pre-training records group by their ``kind``."""
    kind = kind or detect_kind(rec) or "unknown"
    key = "kind" if kind == "pretrain" else "domain"
    value = rec.get(key)
    return kind, value if isinstance(value, str) else "?"


def check_file(path: str | os.PathLike[str], kind: str | None = None, *,
               max_problems: int | None = None, media_roots: tuple = ()) -> CheckReport:
    """Validate every record of one JSONL/Parquet file (``kind`` forces pretrain|sft|rl).

    Every image is decoded and every video's first frame, and every media path must resolve
    inside the file's folder or one of ``media_roots`` (see ``data.mediacheck``)."""
    media = MediaPolicy(tuple(Path(r) for r in media_roots), decode=True)
    p = Path(path)
    kind = normalize_kind(kind)
    report = CheckReport(str(p), max_problems=max_problems)
    if not p.is_file():
        report.add(RecordError(p, 0, "file", "no such file" if not p.exists() else "not a file"))
        return report
    try:
        unit = "line" if file_format(p) == "jsonl" else "row"
    except ValueError as err:  # unsupported suffix
        report.add(RecordError(p, 0, "file", str(err).removeprefix(f"{p}: ")))
        return report
    seen: dict[bytes, int] = {}  # id digest → first line: 16 bytes per id, not the id itself
    try:
        for line, rec in iter_file(p):
            report.records += 1
            if isinstance(rec, RecordError):
                report.bad_records += 1
                report.add(rec)
                continue
            problems = validate_record(rec, base_dir=p.parent, kind=kind, media=media)
            rid = rec.get("id")
            if isinstance(rid, str) and rid:
                digest = hashlib.blake2b(rid.encode(), digest_size=16).digest()
                first = seen.setdefault(digest, line)
                if first != line:
                    problems.append(_duplicate(rid, first, unit))
            if any(pr.is_error for pr in problems):
                report.bad_records += 1
            for pr in problems:
                report.add(RecordError(p, line, pr.field, pr.message), warning=not pr.is_error)
            group = _group(rec, kind)
            report.by_kind[group[0]] += 1
            report.by_domain[group] += 1
    except RecordError as err:  # the file itself is unreadable (not Parquet, corrupt page)
        report.add(err)
    return report


def _duplicate(rid: str, first: int, unit: str) -> Problem:
    return Problem("id", f"duplicate id {rid!r} (first at {unit} {first})")
