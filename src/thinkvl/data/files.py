"""What every record-file writer and reader shares: the provenance key and atomic writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

# Every record yielded by ``read_records`` carries ``_source = "FILE:LINE"``; writers strip it.
SOURCE_KEY = "_source"


def strip_source(rec: dict[str, Any]) -> dict[str, Any]:
    if SOURCE_KEY in rec:
        return {k: v for k, v in rec.items() if k != SOURCE_KEY}
    return rec


class atomic_path:
    """Context manager giving a temp path beside ``path``, renamed onto it only on success."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                   dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)
