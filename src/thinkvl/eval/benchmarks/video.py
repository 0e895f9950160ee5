"""Video benchmarks: Video-MME (with and without subtitles), MVBench, LVBench, VideoMMMU, MMVU.

Videos are looked up beside the data files (``videos/``, ``video/``, ``data/`` or anywhere
below the benchmark folder, by id or file name) and decoded at the eval settings' fps and
frame cap. Not supported: MVBench's per-question clip bounds (``start``/``end``: the whole
video is shown) and Video-MME's per-frame subtitle selection (all subtitle lines are given,
up to :data:`MAX_SUBTITLE_CHARS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from thinkvl.eval.benchmarks.base import (
    CHOICE,
    LETTERS,
    OPEN,
    BenchmarkSpec,
    EvalItem,
    options_text,
    register,
    user,
)
from thinkvl.eval.benchmarks.mmmu import _DISCIPLINE_OF
from thinkvl.eval.benchmarks.rows import (
    MediaIndex,
    RowError,
    as_list,
    field,
    image_ref,
    read_rows,
    roots_for,
)

MAX_SUBTITLE_CHARS = 12000


def _index(path: Path, hint: str) -> MediaIndex:
    top = path if path.is_dir() else path.parent
    return MediaIndex([top / "videos", top / "video", top / "data", top], hint)


def _video(ref: Path) -> dict:
    return {"type": "video", "video": str(ref)}


# -- Video-MME -----------------------------------------------------------------------------------

VIDEOMME_PROMPT = ("Select the best answer to the following multiple-choice question based on "
                   "the video. Respond with only the letter (A, B, C, or D) of the correct "
                   "option.")


def srt_text(path: Path) -> str:
    """The spoken lines of an .srt file (indices and timestamps dropped), capped in length."""
    lines = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = re.sub(r"<[^>]+>", "", line).strip()
        if not line or line.isdigit() or "-->" in line:
            continue
        lines.append(line)
    text = "\n".join(lines)
    return text[:MAX_SUBTITLE_CHARS]


def _videomme(path: Path, subtitles: bool) -> Iterator[EvalItem]:
    """Video-MME (``lmms-lab/Video-MME``, split ``test``): ``video_id, duration, domain,
    sub_category, url, videoID, question_id, task_type, question, options`` ("A. …" strings),
    ``answer`` (a letter); videos as ``videos/<videoID>.mp4``, subtitles as
    ``subtitle/<videoID>.srt``. Letter accuracy by duration, domain, sub-category and task."""
    index = _index(path, "put the Video-MME videos in a 'videos' folder beside the file")
    top = path if path.is_dir() else path.parent
    bench = "videomme_sub" if subtitles else "videomme"
    for file, n, row in read_rows(path, split="test"):
        where = f"{file} row {n}"
        vid = str(field(row, "videoID", "video_id", where=where))
        options = [str(o) for o in as_list(field(row, "options", where=where), where)]
        video = index.find(vid, where)
        text = (f"{VIDEOMME_PROMPT}\n{field(row, 'question', where=where)}\n"
                + "\n".join(options))
        if subtitles:
            srt = next((p for p in (top / "subtitle" / f"{vid}.srt",
                                    top / "subtitles" / f"{vid}.srt") if p.exists()), None)
            subs = srt_text(srt) if srt else ""
            text = (f"This video's subtitles are listed below:\n{subs}\n{text}" if subs
                    else text)
        qid = str(row.get("question_id") or f"{vid}-{n}")
        cats = {k: str(row[k]) for k in ("duration", "domain", "sub_category", "task_type")
                if row.get(k)}
        yield EvalItem(id=qid, bench=bench, family=CHOICE, domain="choice",
                       prompt=user([_video(video), {"type": "text", "text": text}]),
                       answer=str(field(row, "answer", where=where)).strip(), question=text,
                       base_dir=str(file.parent), group=str(row.get("duration") or "all"),
                       meta={"choices": [re.sub(r"^[A-Z][.)]\s*", "", o) for o in options],
                             "task_type": row.get("task_type"), "category": row.get("domain")},
                       metric="choice", categories=cats)


def load_videomme(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    yield from _videomme(path, subtitles=False)


def load_videomme_sub(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    yield from _videomme(path, subtitles=True)


# -- MVBench -------------------------------------------------------------------------------------

MVBENCH_SYSTEM = ("Carefully watch the video and pay attention to the cause and sequence of "
                  "events, the detail and movement of objects, and the action and pose of "
                  "persons. Based on your observations, select the best option that accurately "
                  "addresses the question.")
MVBENCH_FOLDERS = {  # task → video folder under video/ (the published data_list)
    "action_sequence": "star/Charades_v1_480", "action_prediction": "star/Charades_v1_480",
    "action_antonym": "ssv2_video", "fine_grained_action": "Moments_in_Time_Raw/videos",
    "unexpected_action": "FunQA_test/test", "object_existence": "clevrer/video_validation",
    "object_interaction": "star/Charades_v1_480", "object_shuffle": "perception/videos",
    "moving_direction": "clevrer/video_validation", "action_localization": "sta/sta_video",
    "scene_transition": "scene_qa/video", "action_count": "perception/videos",
    "moving_count": "clevrer/video_validation", "moving_attribute": "clevrer/video_validation",
    "state_change": "perception/videos", "fine_grained_pose": "nturgbd",
    "character_order": "perception/videos", "egocentric_navigation": "vlnqa",
    "episodic_reasoning": "tvqa/frames_fps3_hq", "counterfactual_inference":
        "clevrer/video_validation",
}


def load_mvbench(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """MVBench (``OpenGVLab/MVBench``): ``json/<task>.json`` rows ``video, question,
    candidates, answer`` (the answer is the candidate's text); videos under ``video/`` in the
    published per-task folders. Letter accuracy per task (20 tasks)."""
    top = path if path.is_dir() else path.parent
    index = MediaIndex([top / "video", top / "videos", top], "MVBench videos belong under video/")
    for file, n, row in read_rows(path):
        where = f"{file} row {n}"
        task = file.stem
        cands = [str(c) for c in as_list(field(row, "candidates", where=where), where)]
        answer = str(field(row, "answer", where=where))
        if answer not in cands:
            raise RowError(f"{where}: answer {answer!r} is not one of the candidates {cands}")
        name = str(field(row, "video", where=where))
        video = index.find(name, where, subdirs=(MVBENCH_FOLDERS.get(task, ""),))
        text = (f"{MVBENCH_SYSTEM}\nQuestion: {field(row, 'question', where=where)}\nOptions:\n"
                f"{options_text(cands)}\nOnly give the best option.")
        if skipped is not None and (row.get("start") is not None or row.get("end") is not None):
            key = "evaluated on the whole video (clip bounds not supported)"
            skipped[key] = skipped.get(key, 0) + 1
        yield EvalItem(id=f"{task}-{n}", bench="mvbench", family=CHOICE, domain="choice",
                       prompt=user([_video(video), {"type": "text", "text": text}]),
                       answer=LETTERS[cands.index(answer)], question=text,
                       base_dir=str(file.parent), group=task, meta={"choices": cands},
                       metric="choice", categories={"task": task})


# -- LVBench -------------------------------------------------------------------------------------

def load_lvbench(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """LVBench (``THUDM/LVBench`` ``video_info.meta.jsonl``: per video ``key, type, qa`` with
    ``uid, question`` (options inside as "(A) …"), ``answer, question_type, time_reference``;
    or the flattened ``lmms-lab/LVBench`` rows with ``video_path``). Videos as
    ``<key>.mp4``. Letter accuracy per question type (KIR, EU, Sum, ER, Rea, TG) and video type."""
    index = _index(path, "put the LVBench videos in a 'videos' folder beside the file")
    for file, n, row in read_rows(path):
        where = f"{file} row {n}"
        qas = row.get("qa") or [row]
        for k, qa in enumerate(qas):
            w = f"{where} qa {k}" if row.get("qa") else where
            vref = row.get("key") or qa.get("key") or qa.get("video_path") or qa.get("video_id")
            if vref is None:
                raise RowError(f"{w}: no video (fields 'key', 'video_path' or 'video_id')")
            video = index.find(str(vref), w)
            question = str(field(qa, "question", where=w))
            opts = [str(o) for o in as_list(qa.get("options"), w)]
            if opts:
                question += "\n" + options_text(opts)
            choices = opts or [m.group(2).strip() for m in
                               re.finditer(r"\(([A-D])\)\s*([^\n]*)", question)]
            text = question + "\nAnswer with the option's letter from the given choices."
            qtypes = qa.get("question_type") or []
            yield EvalItem(id=str(qa.get("uid") or f"{vref}-{k}"), bench="lvbench",
                           family=CHOICE, domain="choice",
                           prompt=user([_video(video), {"type": "text", "text": text}]),
                           answer=str(field(qa, "answer", where=w)).strip().strip("()"),
                           question=text, base_dir=str(file.parent),
                           group=str(row.get("type") or "all"), meta={"choices": choices},
                           metric="choice",
                           categories={"question_type": as_list(qtypes, w),
                                       **({"video_type": row["type"]} if row.get("type") else {})})


# -- VideoMMMU -----------------------------------------------------------------------------------

def load_videommmu(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """VideoMMMU (``lmms-lab/VideoMMMU``, configs Perception / Comprehension / Adaptation,
    split ``test``): ``id, question, options, answer, question_type, image`` (Adaptation's
    question image); videos as ``<id>.mp4``. MMMU's parsers; by track and discipline."""
    index = _index(path, "put the VideoMMMU videos (<id>.mp4) in a 'videos' folder")
    for file, n, row in read_rows(path, split="test"):
        where = f"{file} row {n}"
        iid = str(field(row, "id", where=where))
        track = next((t for t in ("Perception", "Comprehension", "Adaptation")
                      if t in file.parts or iid.startswith(t.lower())), iid.split("_")[0])
        video = index.find(iid, where)
        options = [str(o) for o in as_list(row.get("options"), where)]
        is_choice = row.get("question_type", "multiple-choice") == "multiple-choice" and options
        text = str(field(row, "question", where=where))
        if is_choice:
            text += "\n" + "\n".join(o if re.match(r"^[A-Z]\.", o) else f"{LETTERS[i]}. {o}"
                                     for i, o in enumerate(options))
        parts = [_video(video)]
        image = image_ref(row.get("image"), roots_for(file, path), where)
        if image:
            parts.append({"type": "image", "image": image})
        parts.append({"type": "text", "text": text})
        subject = "_".join(iid.split("_")[1:-1]) or "all"
        yield EvalItem(id=iid, bench="videommmu", family=CHOICE if is_choice else OPEN,
                       domain="choice" if is_choice else "video", prompt=user(parts),
                       answer=field(row, "answer", where=where), question=text,
                       base_dir=str(file.parent), group=track,
                       meta={"choices": [re.sub(r"^[A-Z]\.\s*", "", o) for o in options]
                             if is_choice else [],
                             "question_type": "multiple-choice" if is_choice else "open"},
                       metric="mmmu",
                       categories={"track": track, "subject": subject,
                                   "discipline": _DISCIPLINE_OF.get(subject, "other")})


# -- MMVU ----------------------------------------------------------------------------------------

def load_mmvu(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """MMVU (``yale-nlp/MMVU``, split ``validation``): ``id, video`` / ``video_path``,
    ``question, choices`` ({A..E}), ``answer, question_type`` (multiple-choice |
    open-ended), ``metadata`` (subject, …). Letters for choices; open answers exact, then
    the judge (the authors grade with GPT-4o). By subject and question type."""
    index = _index(path, "put the MMVU videos beside the file (videos/<subject>/<n>.mp4)")
    for file, n, row in read_rows(path, split="validation"):
        where = f"{file} row {n}"
        vref = str(field(row, "video_path", "video", where=where))
        video = index.find(vref if "://" not in vref else vref.rsplit("/", 1)[-1], where)
        choices = row.get("choices") or {}
        choices = {k: str(v) for k, v in choices.items() if v} if isinstance(choices, dict) \
            else {LETTERS[i]: str(v) for i, v in enumerate(as_list(choices, where))}
        is_choice = str(row.get("question_type", "")).startswith("multiple") and choices
        text = str(field(row, "question", where=where))
        if is_choice:
            text += "\n" + "\n".join(f"({k}) {v}" for k, v in choices.items())
        meta_in = row.get("metadata") or {}
        subject = str(meta_in.get("subject") if isinstance(meta_in, dict) and
                      meta_in.get("subject") else Path(vref).parent.name or "all")
        yield EvalItem(id=str(field(row, "id", where=where)), bench="mmvu",
                       family=CHOICE if is_choice else OPEN,
                       domain="choice" if is_choice else "video",
                       prompt=user([_video(video), {"type": "text", "text": text}]),
                       answer=str(field(row, "answer", where=where)), question=text,
                       base_dir=str(file.parent), group=subject,
                       meta={"options": choices if is_choice else {},
                             "verify_domain": "video"},
                       metric="choice" if is_choice else "exact_judge",
                       categories={"subject": subject,
                                   "question_type": "multiple-choice" if is_choice else "open"})


for _spec in (
    BenchmarkSpec("videomme", load_videomme, "videomme", CHOICE, "Video-MME, no subtitles",
                  split="test", metric="choice"),
    BenchmarkSpec("videomme_sub", load_videomme_sub, "videomme", CHOICE,
                  "Video-MME with subtitles", split="test", metric="choice"),
    BenchmarkSpec("mvbench", load_mvbench, "mvbench", CHOICE, "MVBench (20 tasks)",
                  metric="choice"),
    BenchmarkSpec("lvbench", load_lvbench, "lvbench", CHOICE, "LVBench", metric="choice"),
    BenchmarkSpec("videommmu", load_videommmu, "videommmu", CHOICE, "VideoMMMU", split="test",
                  metric="mmmu"),
    BenchmarkSpec("mmvu", load_mmvu, "mmvu", CHOICE, "MMVU validation", split="validation",
                  metric="choice"),
):
    register(_spec)
