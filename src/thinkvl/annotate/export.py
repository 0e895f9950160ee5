"""Export accepted annotations as thinkvl data records, each with its provenance.

Writes into one folder (media copied under ``media/`` so the folder is self-contained, and every
file passes ``thinkvl data check``):

- ``captions.jsonl`` — pre-training ``video`` (or ``caption``) records: a dense caption with
  timestamped actions, in-scene text and the shot's labels;
- ``grounding.jsonl`` — RL/eval records (domain ``video``): "when does ACTION happen?" →
  ``START-END`` in seconds (temporal grounding);
- ``ocr.jsonl`` — ``ocr`` pre-training records for images, and RL/eval records (domain ``ocr``)
  "what text appears from S to E?" for videos;
- ``sft.jsonl`` — direct-answer SFT question–answer pairs (labels, actions at a time, text);
- ``manifest.json`` — what was exported, from where, when.

``meta.provenance`` on every record names the project, task, medium, annotator, reviewer, the
drafting model, and per field its origin: ``model_draft`` (the model's value, accepted
unchanged), ``human`` (typed or corrected by the annotator) or ``reviewer`` (the reviewer's
value won a conflict), with who decided and when.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from thinkvl.annotate.config import FieldSpec
from thinkvl.annotate.drafts import question
from thinkvl.annotate.fields import empty
from thinkvl.annotate.media import copy_media, resolve
from thinkvl.annotate.models import FieldValue, Project, Task
from thinkvl.annotate.projects import project_config
from thinkvl.annotate.workflow import when
from thinkvl.format import PROTOCOL_MARKERS, add_nothink, make_response

FILES = ("captions.jsonl", "grounding.jsonl", "ocr.jsonl", "sft.jsonl")


@dataclass
class ExportSummary:
    out: Path
    tasks: int = 0
    records: dict[str, int] = field(default_factory=lambda: {f: 0 for f in FILES})
    skipped: list[str] = field(default_factory=list)


def _secs(t: float) -> str:
    return f"{t:.2f}".rstrip("0").rstrip(".") if t is not None else "?"


def _origin(fv: FieldValue) -> dict[str, Any]:
    if fv.review_status == "changed" and fv.resolution != "annotator":
        origin, by, at = "reviewer", fv.reviewed_by, fv.reviewed_at
    elif fv.has_draft and fv.status == "accepted":
        origin, by, at = "model_draft", fv.annotated_by, fv.annotated_at
    else:
        origin, by, at = "human", fv.annotated_by, fv.annotated_at
    return {"origin": origin, "decision": fv.status, "had_draft": fv.has_draft,
            "review": fv.review_status, "by": by.username if by else None, "at": when(at),
            "reviewed_by": fv.reviewed_by.username if fv.reviewed_by else None,
            "reviewed_at": when(fv.reviewed_at)}


class _TaskExport:
    """The records of one task."""

    def __init__(self, project: Project, task: Task, media_ref: str) -> None:
        self.cfg = project_config(project)
        self.task = task
        self.video = task.media.kind != "image"
        self.part = ({"type": "video", "video": media_ref} if self.video
                     else {"type": "image", "image": media_ref})
        self.rows = {fv.field: fv for fv in task.fields}
        self.values = {n: (fv.final if task.status == "accepted" else fv.value)
                       for n, fv in self.rows.items()}
        self.base = {
            "source": "thinkvl annotate", "project": project.slug, "task": task.id,
            "media": task.media.name, "status": task.status,
            "annotator": task.annotator.username if task.annotator else None,
            "submitted_at": when(task.submitted_at),
            "reviewer": task.reviewer.username if task.reviewer else None,
            "accepted_at": when(task.accepted_at), "model": task.draft_model,
        }
        self.stem = f"{project.slug}-t{task.id}"

    def specs(self, kind: str) -> list[FieldSpec]:
        return [s for s in self.cfg.fields if s.type == kind and s.name in self.rows
                and not empty(self.values[s.name])]

    def meta(self, names: list[str], **extra: Any) -> dict[str, Any]:
        prov = dict(self.base, fields={n: _origin(self.rows[n]) for n in names})
        return {**extra, "provenance": prov}

    def user(self, text: str) -> dict[str, Any]:
        return {"role": "user", "content": [self.part, {"type": "text", "text": text}]}

    def caption(self) -> list[dict]:
        caps, segs, texts, labels = (self.specs(k) for k in ("caption", "segments", "texts",
                                                               "label"))
        if not caps and not segs:
            return []
        lines = [self.values[s.name] for s in caps]
        for s in segs:
            lines += [f"[{_secs(r['start'])}s - {_secs(r['end'])}s] {r['action']}"
                      for r in self.values[s.name]]
        for s in texts:
            for r in self.values[s.name]:
                span = f" from {_secs(r['start'])}s to {_secs(r['end'])}s" \
                    if r.get("start") is not None else ""
                lines.append(f"On-screen text{span}: \u201c{r['text']}\u201d.")
        lines += [f"{s.title}: {self.values[s.name]}." for s in labels]
        ask = ("Describe this video in detail, with timestamps." if self.video
               else "Describe this image in detail.")
        used = [s.name for s in caps + segs + texts + labels]
        return [{
            "id": f"{self.stem}-caption", "kind": "video" if self.video else "caption",
            "messages": [self.user(ask),
                         {"role": "assistant", "content": "\n".join(lines)}],
            "meta": self.meta(used, segments={s.name: self.values[s.name] for s in segs},
                              texts={s.name: self.values[s.name] for s in texts},
                              labels={s.name: self.values[s.name] for s in labels}),
        }]

    def grounding(self) -> list[dict]:
        out = []
        for s in self.specs("segments"):
            for i, r in enumerate(self.values[s.name]):
                out.append({
                    "id": f"{self.stem}-{s.name}-{i}-when", "domain": "video",
                    "prompt": [self.user(
                        f"When does this happen in the video: \u201c{r['action']}\u201d? Answer "
                        "with the start and end time in seconds, as START-END.")],
                    "answer": f"{_secs(r['start'])}-{_secs(r['end'])}",
                    "meta": self.meta([s.name], task="temporal_grounding", start=r["start"],
                                      end=r["end"], action=r["action"]),
                })
        return out

    def ocr(self) -> list[dict]:
        out = []
        for s in self.specs("texts"):
            rows = self.values[s.name]
            if not self.video:
                out.append({
                    "id": f"{self.stem}-{s.name}-ocr", "kind": "ocr",
                    "messages": [self.user("Read all the text in the image."),
                                 {"role": "assistant",
                                  "content": "\n".join(r["text"] for r in rows)}],
                    "meta": self.meta([s.name], texts=rows),
                })
                continue
            for i, r in enumerate(rows):
                span = (f"from {_secs(r['start'])} s to {_secs(r['end'])} s"
                        if r.get("start") is not None else "at any time")
                out.append({
                    "id": f"{self.stem}-{s.name}-{i}-ocr", "domain": "ocr",
                    "prompt": [self.user(f"What text appears in the video {span}?")],
                    "answer": r["text"],
                    "meta": self.meta([s.name], task="video_ocr", start=r.get("start"),
                                      end=r.get("end"), box=r.get("box")),
                })
        return out

    def sft(self) -> list[dict]:
        domain = "video" if self.video else "general"
        kind = "video" if self.video else "image"
        out = []

        def pair(rid: str, ask: str, answer: str, names: list[str], **extra: Any) -> None:
            for marker in PROTOCOL_MARKERS:  # typed text must not forge the response format
                answer = answer.replace(marker, " ")
            out.append({"id": rid, "domain": domain,
                        "messages": [self.user(add_nothink(ask)),
                                     {"role": "assistant",
                                      "content": make_response(" ".join(answer.split()))}],
                        "meta": self.meta(names, **extra)})

        for s in self.specs("label"):
            pair(f"{self.stem}-{s.name}-qa", question(s, kind), self.values[s.name], [s.name])
        for s in self.specs("segments"):
            for i, r in enumerate(self.values[s.name]):
                pair(f"{self.stem}-{s.name}-{i}-qa",
                     f"What happens in the video from {_secs(r['start'])} s to "
                     f"{_secs(r['end'])} s?", r["action"], [s.name], start=r["start"],
                     end=r["end"])
        for s in self.specs("texts"):
            for i, r in enumerate(self.values[s.name]):
                where = (f" from {_secs(r['start'])} s to {_secs(r['end'])} s"
                         if r.get("start") is not None else "")
                pair(f"{self.stem}-{s.name}-{i}-qa",
                     f"What text is written in the {kind}{where}?", r["text"], [s.name])
        return out


def export_project(session: Session, project: Project, media_root: Path, out_dir: Path,
                   statuses: tuple[str, ...] = ("accepted",)) -> ExportSummary:
    """Write the project's tasks in ``statuses`` (accepted by default) as data records."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = ExportSummary(out_dir)
    handles = {name: (out_dir / name).open("w", encoding="utf-8", newline="\n")
               for name in FILES}
    try:
        tasks = session.scalars(select(Task).where(
            Task.project_id == project.id, Task.status.in_(statuses)).order_by(Task.id))
        for task in tasks:
            try:
                src = resolve(media_root, task.media.path)
            except Exception as exc:  # noqa: BLE001 - reported, the rest goes on
                summary.skipped.append(f"task {task.id}: {exc}")
                continue
            if not src.exists():
                summary.skipped.append(f"task {task.id}: media {task.media.path} is missing "
                                       f"from {media_root}")
                continue
            suffix = "" if src.is_dir() else src.suffix.lower()
            name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(task.media.name).stem)[:60] or "media"
            ref = f"media/t{task.id}-{name}{suffix}"
            copy_media(src, out_dir / ref, media_root)
            part = _TaskExport(project, task, ref)
            for fname, records in (("captions.jsonl", part.caption()),
                                   ("grounding.jsonl", part.grounding()),
                                   ("ocr.jsonl", part.ocr()), ("sft.jsonl", part.sft())):
                for rec in records:
                    handles[fname].write(json.dumps(rec, ensure_ascii=False) + "\n")
                    summary.records[fname] += 1
            summary.tasks += 1
    finally:
        for fh in handles.values():
            fh.close()
    manifest = {"project": project.slug, "name": project.name,
                "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "statuses": list(statuses), "tasks": summary.tasks, "records": summary.records,
                "skipped": summary.skipped}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return summary
