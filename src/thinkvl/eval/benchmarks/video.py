"""Video benchmarks: Video-MME.

Videos are looked up beside the data files (``videos/``, ``video/``, ``data/`` or anywhere
below the benchmark folder, by id or file name) and decoded at the eval settings' fps and
frame cap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from thinkvl.eval.benchmarks.base import CHOICE, BenchmarkSpec, EvalItem, register, user
from thinkvl.eval.benchmarks.rows import MediaIndex, as_list, field, read_rows


def _index(path: Path, hint: str) -> MediaIndex:
    top = path if path.is_dir() else path.parent
    return MediaIndex([top / "videos", top / "video", top / "data", top], hint)


def _video(ref: Path) -> dict:
    return {"type": "video", "video": str(ref)}


VIDEOMME_PROMPT = ("Select the best answer to the following multiple-choice question based on "
                   "the video. Respond with only the letter (A, B, C, or D) of the correct "
                   "option.")


def load_videomme(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """Video-MME (``lmms-lab/Video-MME``, split ``test``): ``video_id, duration, domain,
    sub_category, url, videoID, question_id, task_type, question, options`` ("A. …" strings),
    ``answer`` (a letter); videos as ``videos/<videoID>.mp4``. Letter accuracy by duration,
    domain, sub-category and task."""
    index = _index(path, "put the Video-MME videos in a 'videos' folder beside the file")
    for file, n, row in read_rows(path, split="test"):
        where = f"{file} row {n}"
        vid = str(field(row, "videoID", "video_id", where=where))
        options = [str(o) for o in as_list(field(row, "options", where=where), where)]
        video = index.find(vid, where)
        text = (f"{VIDEOMME_PROMPT}\n{field(row, 'question', where=where)}\n"
                + "\n".join(options))
        qid = str(row.get("question_id") or f"{vid}-{n}")
        cats = {k: str(row[k]) for k in ("duration", "domain", "sub_category", "task_type")
                if row.get(k)}
        yield EvalItem(id=qid, bench="videomme", family=CHOICE, domain="choice",
                       prompt=user([_video(video), {"type": "text", "text": text}]),
                       answer=str(field(row, "answer", where=where)).strip(), question=text,
                       base_dir=str(file.parent), group=str(row.get("duration") or "all"),
                       meta={"choices": [re.sub(r"^[A-Z][.)]\s*", "", o) for o in options],
                             "task_type": row.get("task_type"), "category": row.get("domain")},
                       metric="choice", categories=cats)


register(BenchmarkSpec("videomme", load_videomme, "videomme", CHOICE, "Video-MME, no subtitles",
                       split="test", metric="choice"))
