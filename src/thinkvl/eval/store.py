"""Append-only prediction store: one JSON line per generated answer, keyed by a fingerprint.

A key hashes (model, prompt, generation settings), so an interrupted run resumes per sample,
a rerun skips everything already generated, and changing a setting invalidates exactly the
predictions it affects (think-mode settings never touch direct-mode predictions; scoring and
judge settings touch none). Lines are flushed as written; a torn last line from a crash is
ignored on reading.

Under data-parallel evaluation each rank appends to its own shard
(``predictions.rank<R>.jsonl``) and rank 0 folds the shards into the main file; shards an
interrupted run left behind are read too, so they are never lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("thinkvl.eval")


def fingerprint(*parts: Any) -> str:
    """A stable hash of JSON-able parts (dict keys sorted)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(text.encode()).hexdigest()


class PredictionStore:
    """``predictions.jsonl`` in a run folder (or in memory when ``path`` is None); with
    ``shard`` set, this process appends to its own shard file instead."""

    def __init__(self, path: str | Path | None, shard: int | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.shard = shard
        self._rows: dict[str, dict[str, Any]] = {}
        self._in_main: set[str] = set()
        self.torn = 0
        self.reload()

    @property
    def write_path(self) -> Path | None:
        if self.path is None or self.shard is None:
            return self.path
        return self.path.with_name(f"{self.path.stem}.rank{self.shard}{self.path.suffix}")

    def shard_files(self) -> list[Path]:
        if self.path is None:
            return []
        return sorted(self.path.parent.glob(f"{self.path.stem}.rank*{self.path.suffix}"))

    def reload(self) -> None:
        """(Re)read the main file and any shard files."""
        self._rows, self._in_main, self.torn = {}, set(), 0
        if self.path is None:
            return
        if self.path.exists():
            for row in self._read(self.path):
                self._rows[row["key"]] = row
                self._in_main.add(row["key"])
        for shard in self.shard_files():
            for row in self._read(shard):
                self._rows.setdefault(row["key"], row)

    def _read(self, path: Path):
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    self.torn += 1  # an interrupted write; that sample is simply redone
                    log.warning("%s:%d: unreadable prediction line skipped", path, n)
                    continue
                yield row

    def merge_shards(self) -> int:
        """Fold every shard file into the main file (rows it lacks), then delete the shards;
        returns how many rows were added. Run by one process only (rank 0)."""
        added = []
        for shard in self.shard_files():
            for row in self._read(shard):
                if row["key"] not in self._in_main:
                    self._in_main.add(row["key"])
                    added.append(row)
        if added:
            self._append(self.path, added)
            for row in added:
                self._rows[row["key"]] = row
        for shard in self.shard_files():
            shard.unlink()
        return len(added)

    def __contains__(self, key: str) -> bool:
        return key in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: str) -> dict[str, Any] | None:
        return self._rows.get(key)

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Append rows (each with a ``key``) and flush, so a crash loses at most this call."""
        if not rows:
            return
        target = self.write_path
        if target is not None:
            self._append(target, rows)
            if target == self.path:
                self._in_main.update(row["key"] for row in rows)
        for row in rows:
            self._rows[row["key"]] = row

    @staticmethod
    def _append(path: Path, rows: list[dict[str, Any]]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            if f.tell() > 0 and not _ends_with_newline(path):
                f.write("\n")  # never glue a new row onto a torn one
            f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            f.flush()


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, 2)
        return f.read(1) == b"\n"
