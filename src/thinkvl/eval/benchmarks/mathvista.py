"""MathVista (``AI4Math/MathVista``, split ``testmini``): its published parquet columns
``pid, question, image, decoded_image, choices, unit, precision, answer, question_type,
answer_type, metadata, query``. The prompt is the published ``query`` (hint + question +
choices); scoring is MathVista's answer-type/precision normalisation (metric ``mathvista``),
broken down by the metadata's task, skills, category, grade, context and source.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from thinkvl.eval.benchmarks.base import (
    CHOICE,
    LETTERS,
    NUMERIC,
    OPEN,
    BenchmarkSpec,
    EvalItem,
    options_text,
    register,
    user,
)
from thinkvl.eval.benchmarks.rows import RowError, as_list, field, image_ref, read_rows, roots_for

_META_KEYS = ("task", "skills", "category", "grade", "context", "source")


def load_mathvista(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    for file, n, row in read_rows(path, split="testmini"):
        where = f"{file} row {n}"
        pid = str(field(row, "pid", where=where))
        choices = [str(c) for c in as_list(row.get("choices"), where)]
        query = row.get("query") or field(row, "question", where=where)
        if choices and not row.get("query"):
            query = f"{row['question']}\nChoices:\n{options_text(choices)}"
        image = image_ref(row.get("decoded_image") or row.get("image"), roots_for(file, path),
                          where)
        parts = ([{"type": "image", "image": image}] if image else [])
        parts.append({"type": "text", "text": query})
        answer, atype = field(row, "answer", where=where), row.get("answer_type") or "text"
        meta = {"answer_type": atype, "precision": row.get("precision"),
                "unit": row.get("unit"), "choices": choices,
                "question_type": row.get("question_type")}
        if choices:
            if str(answer) not in choices:
                raise RowError(f"{where}: pid {pid}: answer {answer!r} is not one of its "
                               f"choices {choices}")
            family, domain = CHOICE, "choice"
            meta["answer_text"] = str(answer)
            answer = LETTERS[choices.index(str(answer))]
        elif atype in ("integer", "float"):
            family, domain = NUMERIC, "math"
        else:
            family, domain = OPEN, "vqa"
        info = row.get("metadata") or {}
        cats = {k: info[k] for k in _META_KEYS if isinstance(info, dict) and info.get(k)}
        yield EvalItem(id=pid, bench="mathvista", family=family, domain=domain,
                       prompt=user(parts), answer=answer, question=query,
                       base_dir=str(file.parent), group=str(cats.get("task") or domain),
                       meta=meta, metric="mathvista", categories=cats)


register(BenchmarkSpec("mathvista", load_mathvista, "mathvista", CHOICE,
                       "MathVista testmini", split="testmini", metric="mathvista"))
