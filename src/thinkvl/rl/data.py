"""The RL prompt set: records read once (validated, with provenance) plus offline difficulty.

RL data is the curated, graded set (tens to hundreds of thousands of prompts), so its light
fields live in memory for the curriculum; images are loaded only when a prompt is drawn.
``thinkvl rl grade`` writes each prompt's offline pass rate to ``<data>.difficulty.jsonl``
beside the data, which is picked up here automatically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thinkvl.data.io import base_dir_of, read_records


@dataclass
class Prompt:
    id: str
    domain: str
    messages: list[dict]
    answer: Any
    base_dir: Path | None = None
    meta: dict = field(default_factory=dict)
    offline_pass: float | None = None
    source: str | None = None  # FILE:LINE of the record (named by encoding errors)

    @property
    def question(self) -> str:
        """The user turn's text (given to judges and reward guards)."""
        parts = []
        for message in self.messages:
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            else:
                parts.extend(p.get("text", "") for p in content or [] if p.get("type") == "text")
        return "\n".join(p for p in parts if p)


def difficulty_path(data_path: str | Path) -> Path:
    path = Path(data_path)
    return path.with_name(path.name.rsplit(".", 1)[0] + ".difficulty.jsonl")


def load_difficulty(data_path: str | Path) -> dict[str, float]:
    """Offline pass rates by prompt id from the sidecar file, if one exists."""
    path = difficulty_path(data_path)
    if not path.exists():
        return {}
    rates = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rates[str(row["id"])] = float(row["pass_rate"])
    return rates


def load_prompts(path: str | Path, skip_invalid: bool = False, limit: int | None = None,
                 media_roots: tuple = ()) -> list[Prompt]:
    """All RL records of ``path`` as prompts (a bad record fails with FILE:LINE unless skipped)."""
    graded = load_difficulty(path)
    prompts = []
    stream = read_records(path, kind="rl", skip_invalid=skip_invalid, media_roots=media_roots)
    for rec in stream:
        meta = rec.get("meta") or {}
        offline = graded.get(str(rec["id"]), meta.get("pass_rate"))
        prompts.append(Prompt(id=str(rec["id"]), domain=rec["domain"], messages=rec["prompt"],
                              answer=rec["answer"], base_dir=base_dir_of(rec), meta=meta,
                              offline_pass=offline, source=rec.get("_source")))
        if limit is not None and len(prompts) >= limit:
            break
    if not prompts:
        raise ValueError(f"{path}: no RL records found")
    return prompts
