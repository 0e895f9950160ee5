"""MMMU (``MMMU/MMMU``, split ``validation``, one parquet per subject) and MMMU-Pro
(``MMMU/MMMU_Pro``, split ``test``, configs ``standard (10 options)`` and ``vision``).

MMMU columns: ``id, question`` (with ``<image N>`` tags), ``options`` (a list literal),
``image_1..image_7, answer, question_type`` (multiple-choice | open), ``topic_difficulty,
subfield, img_type``. MMMU-Pro standard has the same columns with ``subject`` and up to ten
options; its vision setting has ``id, image, options, answer, subject`` — the question is in
the screenshot. Both are scored with MMMU's published parsers (metric ``mmmu``), per
subject, discipline and difficulty.
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
    register,
    user,
)
from thinkvl.eval.benchmarks.rows import as_list, field, image_ref, read_rows, roots_for

_IMAGE_TAG = re.compile(r"<image (\d+)>")

DISCIPLINES = {
    "Art and Design": ("Art", "Art_Theory", "Design", "Music"),
    "Business": ("Accounting", "Economics", "Finance", "Manage", "Marketing"),
    "Science": ("Biology", "Chemistry", "Geography", "Math", "Physics"),
    "Health and Medicine": ("Basic_Medical_Science", "Clinical_Medicine",
                            "Diagnostics_and_Laboratory_Medicine", "Pharmacy", "Public_Health"),
    "Humanities and Social Science": ("History", "Literature", "Sociology", "Psychology"),
    "Tech and Engineering": ("Agriculture", "Architecture_and_Engineering", "Computer_Science",
                             "Electronics", "Energy_and_Power", "Materials",
                             "Mechanical_Engineering"),
}
_DISCIPLINE_OF = {s: d for d, subjects in DISCIPLINES.items() for s in subjects}


def interleave(text: str, images: dict[int, str], used: set[int]) -> list[dict]:
    """Split ``text`` at ``<image N>`` tags into text and image parts (MMMU's layout)."""
    parts: list[dict] = []
    pos = 0
    for m in _IMAGE_TAG.finditer(text):
        if m.start() > pos:
            parts.append({"type": "text", "text": text[pos:m.start()]})
        n = int(m.group(1))
        if n in images and n not in used:
            parts.append({"type": "image", "image": images[n]})
            used.add(n)
        else:
            parts.append({"type": "text", "text": m.group(0)})
        pos = m.end()
    if pos < len(text):
        parts.append({"type": "text", "text": text[pos:]})
    return parts


def mmmu_subject(item_id: str) -> str:
    """``validation_Art_Theory_3`` → ``Art_Theory``."""
    parts = item_id.split("_")
    return "_".join(parts[1:-1]) if len(parts) > 2 else "mmmu"


def _subject_cats(subject: str, row: dict) -> dict:
    key = subject.replace(" ", "_")
    cats = {"subject": subject, "discipline": _DISCIPLINE_OF.get(key, "other")}
    if row.get("topic_difficulty"):
        cats["difficulty"] = str(row["topic_difficulty"])
    return cats


def mmmu_item(row: dict, file: Path, roots: list[Path], where: str, bench: str,
              subject: str) -> EvalItem:
    images = {n: ref for n in range(1, 8)
              if (ref := image_ref(row.get(f"image_{n}"), roots, where))}
    used: set[int] = set()
    options = [str(o) for o in as_list(row.get("options"), where)]
    parts = interleave(str(field(row, "question", where=where)), images, used)
    is_choice = row.get("question_type", "multiple-choice") == "multiple-choice" and options
    if is_choice:
        parts.append({"type": "text", "text": "\nOptions:\n"})
        for i, opt in enumerate(options):
            parts += interleave(f"({LETTERS[i]}) {opt}\n", images, used)
    unused = [n for n in sorted(images) if n not in used]
    parts = [{"type": "image", "image": images[n]} for n in unused] + parts
    answer = field(row, "answer", where=where)
    if isinstance(answer, str) and answer.startswith("["):
        answer = [str(a) for a in as_list(answer, where)]
    family, domain = (CHOICE, "choice") if is_choice else (OPEN, "vqa")
    text = "".join(p["text"] for p in parts if p["type"] == "text")
    return EvalItem(id=str(field(row, "id", where=where)), bench=bench, family=family,
                    domain=domain, prompt=user(parts), answer=answer, question=text,
                    base_dir=str(file.parent), group=subject,
                    meta={"choices": options if is_choice else [],
                          "question_type": "multiple-choice" if is_choice else "open"},
                    metric="mmmu", categories=_subject_cats(subject, row))


def load_mmmu(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    for file, n, row in read_rows(path, split="validation"):
        where = f"{file} row {n}"
        subject = mmmu_subject(str(field(row, "id", where=where)))
        yield mmmu_item(row, file, roots_for(file, path), where, "mmmu", subject)


def load_mmmu_pro(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """MMMU-Pro standard (10 options)."""
    for file, n, row in read_rows(path, split="test", config="standard (10 options)"):
        where = f"{file} row {n}"
        subject = str(row.get("subject") or mmmu_subject(str(row.get("id"))))
        yield mmmu_item({**row, "question_type": "multiple-choice"}, file,
                        roots_for(file, path), where, "mmmu_pro", subject)


VISION_PROMPT = ("Answer the multiple-choice question shown in the image with the letter of "
                 "the correct option.")


def load_mmmu_pro_vision(path: Path, skipped: dict[str, int] | None = None
                         ) -> Iterator[EvalItem]:
    """MMMU-Pro vision: the question and its options are only in the screenshot."""
    for file, n, row in read_rows(path, split="test", config="vision"):
        where = f"{file} row {n}"
        image = image_ref(field(row, "image", where=where), roots_for(file, path), where)
        options = [str(o) for o in as_list(row.get("options"), where)]
        subject = str(row.get("subject") or "mmmu_pro")
        yield EvalItem(id=str(field(row, "id", where=where)), bench="mmmu_pro_vision",
                       family=CHOICE, domain="choice",
                       prompt=user([{"type": "image", "image": image},
                                    {"type": "text", "text": VISION_PROMPT}]),
                       answer=str(field(row, "answer", where=where)).strip(),
                       question=VISION_PROMPT, base_dir=str(file.parent), group=subject,
                       meta={"choices": options, "question_type": "multiple-choice"},
                       metric="mmmu", categories=_subject_cats(subject, row))


register(BenchmarkSpec("mmmu", load_mmmu, "mmmu", CHOICE, "MMMU validation",
                       split="validation", metric="mmmu"))
register(BenchmarkSpec("mmmu_pro", load_mmmu_pro, "mmmu_pro", CHOICE,
                       "MMMU-Pro standard (10 options)", split="test", metric="mmmu"))
register(BenchmarkSpec("mmmu_pro_vision", load_mmmu_pro_vision, "mmmu_pro", CHOICE,
                       "MMMU-Pro vision", split="test", metric="mmmu"))
