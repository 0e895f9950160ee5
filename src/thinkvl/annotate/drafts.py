"""Model drafts: ask a VLM one question per field, parse its answers into field values.

Any model ``thinkvl.model.factory.load_model`` loads can draft (the tiny random model in tests,
GLM-4.1V on a GPU box). Parsing is forgiving of format and strict about content: a label must
be one of the field's labels, a time segment must lie inside the video, text must contain
letters. Whatever the model fails to produce stays empty and is marked "no draft". The verbatim
output is stored beside the parsed draft, and the draft is the model's version that people's
edits are measured against.

Drafting runs in one background thread (``DraftWorker``) so pages never wait for the model; a
server restart re-queues the drafts that were queued or running.
"""

from __future__ import annotations

import itertools
import logging
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from thinkvl.annotate.config import DraftSettings, FieldSpec
from thinkvl.annotate.fields import TIME_SLACK
from thinkvl.annotate.media import resolve
from thinkvl.annotate.models import DraftOutput, Event, Task, utcnow
from thinkvl.annotate.projects import project_config
from thinkvl.format import parse_response

log = logging.getLogger("thinkvl.annotate.drafts")
MAX_ROWS = 50
MAX_CAPTION = 2000


# -- questions ----------------------------------------------------------------------------------

def question(spec: FieldSpec, kind: str) -> str:
    """What the model is asked for ``spec`` about a medium of ``kind`` (image or video)."""
    what = "image" if kind == "image" else "video"
    if spec.type == "label":
        ask = spec.question or f"What is the {spec.title.lower()} of this {what}?"
        return f"{ask} Answer with one of: {', '.join(spec.labels)}."
    if spec.type == "segments":
        return spec.question or ("List every action in this video, one per line, as "
                                 "START-END: action (times in seconds).")
    if spec.type == "texts":
        if kind == "image":
            return spec.question or ("Read every piece of text in this image, one per line, as "
                                     "TEXT [x1,y1,x2,y2] (box in 0-1000 coordinates).")
        return spec.question or ("Read every piece of text that appears in this video, one per "
                                 "line, as START-END: TEXT (times in seconds).")
    return spec.question or (f"Describe this {what} in detail: the actions, the objects, any "
                             "text, the camera work and the framing.")


# -- parsing --------------------------------------------------------------------------------------

_SPECIAL = re.compile(r"<\|[^|<>]{0,40}\|>|</?think>|</?answer>|\[gMASK\]|<sop>")
_TIME = r"(\d{1,2}:\d{1,2}(?:\.\d+)?|\d{1,5}(?:\.\d+)?)\s*(?:s|sec|seconds)?"
_SPAN = re.compile(rf"{_TIME}\s*(?:-|–|—|to)\s*{_TIME}")
_BOX = re.compile(r"\[\s*(\d{1,4})\s*,\s*(\d{1,4})\s*,\s*(\d{1,4})\s*,\s*(\d{1,4})\s*\]")
_LETTERS = re.compile(r"[^\W\d_]{2,}")


def answer_text(output: str) -> str:
    """The part of a response that answers: the box, else the answer block, else what follows
    the think block; special tokens and undecodable bytes removed."""
    parsed = parse_response(output)
    if parsed.box is not None:
        text = parsed.box
    elif parsed.answer is not None:
        text = parsed.answer
    elif "</think>" in output:
        text = output.split("</think>", 1)[1]
    else:
        text = output
    text = _SPECIAL.sub(" ", text).replace("\ufffd", "")
    text = "".join(ch for ch in text if ch.isprintable() or ch == "\n")
    return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip()


def parse_draft(spec: FieldSpec, output: str, kind: str = "video",
                duration: float | None = None) -> Any:
    """The field value a model output gives for ``spec``, or None when it gives nothing usable."""
    try:
        text = answer_text(output if isinstance(output, str) else "")
    except Exception:  # noqa: BLE001 - a draft parser must never take the worker down
        return None
    if not text:
        return None
    if spec.type == "label":
        return _label(spec, text)
    if spec.type == "segments":
        return _segments(text, duration)
    if spec.type == "texts":
        return _texts(text, kind, duration)
    return _caption(text)


def _label(spec: FieldSpec, text: str) -> str | None:
    low = text.casefold()
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for label in sorted(spec.labels, key=len, reverse=True):  # "extreme close-up" first
        pat = re.compile(r"(?<![\w-])" + re.escape(label.casefold()) + r"(?![\w-])")
        for m in pat.finditer(low):
            if not any(a <= m.start() < b for a, b in taken):
                found.append((m.start(), label))
                taken.append((m.start(), m.end()))
                break
    if not found or len(found) >= 3:  # nothing, or the option list echoed back: no draft
        return None
    return min(found)[1]


def _seconds(s: str) -> float:
    if ":" in s:
        m, sec = s.split(":", 1)
        return int(m) * 60 + float(sec)
    return float(s)


def _spans(text: str, duration: float | None) -> list[tuple[float, float, str]]:
    out = []
    for line in re.split(r"[\n;]+", text):
        m = _SPAN.search(line)
        if not m:
            continue
        start, end = _seconds(m.group(1)), _seconds(m.group(2))
        if end <= start or (duration is not None and end > duration + TIME_SLACK):
            continue  # an impossible or hallucinated time
        rest = line[m.end():].lstrip(" :,.-–—)]").strip()
        out.append((round(start, 3), round(end, 3), rest))
        if len(out) >= MAX_ROWS:
            break
    return out


def _segments(text: str, duration: float | None) -> list[dict] | None:
    rows = [{"start": s, "end": e, "action": a.strip(" .\"'“”")}
            for s, e, a in _spans(text, duration) if _LETTERS.search(a)]
    return rows or None


def _texts(text: str, kind: str, duration: float | None) -> list[dict] | None:
    rows = []
    if kind == "image":
        for line in text.splitlines()[:MAX_ROWS]:
            box = _box(line)
            words = _BOX.sub(" ", line).strip(" :,.-\"'“”")
            if any(ch.isalnum() for ch in words):
                rows.append({"text": words, "start": None, "end": None, "box": box})
    else:
        for s, e, rest in _spans(text, duration):
            box = _box(rest)
            words = _BOX.sub(" ", rest).strip(" :,.-\"'“”")
            if any(ch.isalnum() for ch in words):
                rows.append({"text": words, "start": s, "end": e, "box": box})
    return rows or None


def _box(text: str) -> list[int] | None:
    m = _BOX.search(text)
    if not m:
        return None
    x1, y1, x2, y2 = (int(v) for v in m.groups())
    if 0 <= x1 < x2 <= 1000 and 0 <= y1 < y2 <= 1000:
        return [x1, y1, x2, y2]
    return None


def _caption(text: str) -> str | None:
    text = " ".join(text.split())[:MAX_CAPTION]
    letters = sum(len(m) for m in _LETTERS.findall(text))
    return text if letters >= 3 else None


# -- drafters -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class DraftRequest:
    field: str
    kind: str  # image | video | frames
    path: Path  # absolute
    question: str


class Drafter(Protocol):
    name: str

    def complete(self, requests: list[DraftRequest], settings: DraftSettings) -> list[str]:
        """One raw model output per request."""


class ModelDrafter:
    """A thinkvl-loadable VLM, loaded on first use and shared by all drafts."""

    def __init__(self, model_path: str | Path, device: str | None = None) -> None:
        self.path = Path(model_path)
        if not (self.path / "config.json").is_file():
            raise FileNotFoundError(f"{self.path} is not a model folder (no config.json); "
                                    f"build one with `thinkvl model init --out {self.path}`")
        self.name = self.path.resolve().name
        self.device = device
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            from thinkvl.model.factory import load_model, load_processor

            model = load_model(self.path, device=self.device)
            model.eval()
            self._loaded = (model, load_processor(self.path))
        return self._loaded

    def complete(self, requests: list[DraftRequest], settings: DraftSettings) -> list[str]:
        from thinkvl.model.generate import generate
        from thinkvl.model.settings import GenerationSettings

        with self._lock:
            model, processor = self._load()
            prompts = []
            for r in requests:
                part = ({"type": "image", "image": str(r.path)} if r.kind == "image"
                        else {"type": "video", "video": str(r.path)})
                prompts.append([{"role": "user", "content": [part,
                                                             {"type": "text", "text": r.question}]}])
            greedy = GenerationSettings(think_budget=settings.think_budget, answer_budget=settings.answer_budget)
            return [c.text for c in generate(model, processor, prompts, greedy, think=settings.think)]


# -- the background worker ------------------------------------------------------------------------

class DraftWorker:
    """Drafts queued tasks one at a time in a background thread."""

    def __init__(self, factory: sessionmaker[Session], drafter: Drafter, media_root: Path,
                 on_done: Callable[[int], None] | None = None) -> None:
        self.factory = factory
        self.drafter = drafter
        self.media_root = media_root
        self.on_done = on_done
        # (priority, order, task id): tasks someone has open jump the queue; None stops
        self._queue: queue.PriorityQueue[tuple[int, int, int | None]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._waiting: set[int] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="thinkvl-drafts", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the draft in progress (if any) and stop; queued drafts stay queued in the
        database and are picked up again by the next start."""
        if self._thread is not None:
            self._stopping.set()
            self._queue.put((-1, next(self._order), None))
            self._thread.join(timeout)
            self._thread = None

    def enqueue(self, task_id: int, urgent: bool = False) -> None:
        with self._lock:
            if task_id in self._waiting and not urgent:
                return
            self._waiting.add(task_id)
        self._queue.put((0 if urgent else 1, next(self._order), task_id))

    def prioritize(self, task_id: int) -> None:
        """Someone is waiting on this task's page: draft it next."""
        self.enqueue(task_id, urgent=True)

    def recover(self) -> int:
        """Queue every task that waits for a draft: queued or interrupted ones, and open tasks
        that never had one (a model given to a server that had none before)."""
        with self.factory() as session:
            ids = list(session.scalars(select(Task.id).where(
                (Task.draft_status.in_(("queued", "running")))
                | ((Task.draft_status == "none") & (Task.status == "open"))).order_by(Task.id)))
            if ids:
                session.execute(update(Task).where(Task.id.in_(ids)).values(
                    draft_status="queued", version=Task.version + 1, updated_at=utcnow()))
                session.commit()
        for i in ids:
            self.enqueue(i)
        return len(ids)

    def _run(self) -> None:
        while not self._stopping.is_set():
            _, _, task_id = self._queue.get()
            if task_id is None or self._stopping.is_set():
                return
            with self._lock:
                self._waiting.discard(task_id)
            try:
                self.draft(task_id)
            except Exception:  # keep serving the queue
                log.exception("drafting task %s failed", task_id)
            if self.on_done is not None:
                self.on_done(task_id)

    def draft(self, task_id: int) -> str:
        """Draft one task now; returns its draft status afterwards."""
        with self.factory() as session:
            task = session.get(Task, task_id)
            if task is None or task.draft_status != "queued":
                return task.draft_status if task else "missing"
            version = task.version + 1
            claimed = session.execute(update(Task).where(
                Task.id == task_id, Task.version == task.version, Task.draft_status == "queued")
                .values(draft_status="running", version=version, updated_at=utcnow()))
            session.commit()
            if claimed.rowcount != 1:
                return "busy"
            cfg = project_config(task.project)
            media = task.media
            kind = "image" if media.kind == "image" else "video"
            specs = [cfg.field(fv.field) for fv in task.fields
                     if fv.field in {f.name for f in cfg.fields} and cfg.field(fv.field).draft]
        path = resolve(self.media_root, media.path)
        requests = [DraftRequest(s.name, media.kind, path, question(s, kind)) for s in specs]
        started = time.monotonic()
        try:
            outputs = self.drafter.complete(requests, cfg.draft) if requests else []
            if len(outputs) != len(requests):
                raise RuntimeError(f"the drafter returned {len(outputs)} outputs for "
                                   f"{len(requests)} questions")
            error = None
        except Exception as exc:  # reported on the task, the page goes on
            log.exception("model draft of task %s failed", task_id)
            outputs, error = [], f"{type(exc).__name__}: {exc}"[:2000]
        return self._store(task_id, version, specs, requests, outputs, error, kind,
                           media.duration, time.monotonic() - started)

    def _store(self, task_id: int, version: int, specs: list[FieldSpec],
               requests: list[DraftRequest], outputs: list[str], error: str | None, kind: str,
               duration: float | None, seconds: float) -> str:
        status = "failed" if error else "done"
        with self.factory() as session:
            ok = session.execute(update(Task).where(
                Task.id == task_id, Task.version == version, Task.draft_status == "running")
                .values(draft_status=status, version=version + 1, updated_at=utcnow(),
                        draft_model=self.drafter.name, drafted_at=utcnow(), draft_error=error))
            if ok.rowcount != 1:  # skipped by a person meanwhile: the draft is not used
                session.rollback()
                return "discarded"
            task = session.get(Task, task_id)
            rows = {fv.field: fv for fv in task.fields}
            drafted = {}
            for spec, req, out in zip(specs, requests, outputs):
                value = parse_draft(spec, out, kind, duration)
                fv = rows[spec.name]
                fv.draft, fv.has_draft = value, value is not None
                if fv.status == "pending":
                    fv.value = value  # pre-filled; the annotator accepts, edits or rejects it
                drafted[spec.name] = value is not None
                session.add(DraftOutput(task_id=task_id, field=spec.name, model=self.drafter.name,
                                        prompt=req.question, output=out))
            session.add(Event(task_id=task_id, action="draft", detail={
                "model": self.drafter.name, "status": status, "error": error,
                "fields": drafted, "seconds": round(seconds, 3)}))
            session.commit()
        return status
