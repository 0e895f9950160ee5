"""Append-only prediction store: one JSON line per generated answer, keyed by a fingerprint.

A key hashes (model, prompt, generation settings), so an interrupted run resumes per sample,
a rerun skips everything already generated, and changing a setting invalidates exactly the
predictions it affects (think-mode settings never touch direct-mode predictions; scoring and
judge settings touch none). Lines are flushed as written; a torn last line from a crash is
ignored on reading.
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
    """``predictions.jsonl`` in a run folder (or in memory when ``path`` is None)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._rows: dict[str, dict[str, Any]] = {}
        self.torn = 0
        if self.path is not None and self.path.exists():
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        with open(self.path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    self.torn += 1  # an interrupted write; that sample is simply redone
                    log.warning("%s:%d: unreadable prediction line skipped", self.path, n)
                    continue
                self._rows[row["key"]] = row

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
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                if f.tell() > 0 and not self._ends_with_newline():
                    f.write("\n")  # never glue a new row onto a torn one
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                f.flush()
        for row in rows:
            self._rows[row["key"]] = row

    def _ends_with_newline(self) -> bool:
        assert self.path is not None
        with open(self.path, "rb") as f:
            f.seek(-1, 2)
            return f.read(1) == b"\n"
