"""OCR: OCRBench and OCRBench v2 (its VQA-style task types).

Not supported in OCRBench v2: the types scored by TEDS (table/chart/document parsing), text
spotting and grounding (IoU/spotting metrics), key-information extraction (dict F1),
full-page OCR, fine-grained recognition, translation, handwritten answer extraction (BLEU,
METEOR) and Chinese formula recognition — those rows are left out and counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from thinkvl.eval.benchmarks.base import OCR, BenchmarkSpec, EvalItem, register, user
from thinkvl.eval.benchmarks.rows import as_list, field, image_ref, read_rows, roots_for
from thinkvl.eval.metrics.text import V2_BUCKETS


def _parts(row: dict, file: Path, path: Path, where: str, text: str) -> list[dict]:
    ref = image_ref(field(row, "image", "image_path", where=where), roots_for(file, path), where)
    return user(([{"type": "image", "image": ref}] if ref else []) +
                [{"type": "text", "text": text}])


def load_ocrbench(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """OCRBench (``echo840/OCRBench``, split ``test``): ``dataset, question, question_type,
    answer`` (a list of accepted answers), ``image``. Containment (case-insensitive; HME100k
    without spaces), reported as the count out of 1000 and per question type."""
    for file, n, row in read_rows(path, split="test"):
        where = f"{file} row {n}"
        q = str(field(row, "question", where=where))
        answers = [str(a) for a in as_list(field(row, "answer", where=where), where)]
        qtype = str(row.get("question_type") or "all")
        yield EvalItem(id=str(row.get("id") or n), bench="ocrbench", family=OCR, domain="ocr",
                       prompt=_parts(row, file, path, where, q), answer=answers, question=q,
                       base_dir=str(file.parent), group=qtype,
                       meta={"dataset": row.get("dataset")}, metric="ocrbench",
                       categories={"question_type": qtype,
                                   "dataset": str(row.get("dataset") or "")})


SUPPORTED_V2 = {t for types in V2_BUCKETS.values() for t in types} - {
    "fine-grained text recognition en", "full-page OCR en", "text grounding en",
    "VQA with position en", "key information extraction en", "key information mapping en",
    "document parsing en", "chart parsing en", "table parsing en"}


def load_ocrbench_v2(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """OCRBench v2 (``ling99/OCRBench_v2``, split ``test``): ``id, dataset_name, question,
    type, answers, image, eval``. The VQA-style types with their published rules; other
    types are counted as not supported."""
    for file, n, row in read_rows(path, split="test"):
        where = f"{file} row {n}"
        kind = str(field(row, "type", where=where))
        if kind not in SUPPORTED_V2:
            if skipped is not None:
                key = f"not evaluated: type {kind!r} (its metric is not supported)"
                skipped[key] = skipped.get(key, 0) + 1
            continue
        q = str(field(row, "question", where=where))
        answers = [str(a) for a in as_list(field(row, "answers", "answer", where=where), where)]
        yield EvalItem(id=str(row.get("id") if row.get("id") is not None else n),
                       bench="ocrbench_v2", family=OCR, domain="ocr",
                       prompt=_parts(row, file, path, where, q), answer=answers, question=q,
                       base_dir=str(file.parent), group=kind,
                       meta={"type": kind, "eval": row.get("eval")}, metric="ocrbench_v2",
                       categories={"type": kind})


register(BenchmarkSpec("ocrbench", load_ocrbench, "ocrbench", OCR, "OCRBench", split="test",
                       metric="ocrbench"))
register(BenchmarkSpec("ocrbench_v2", load_ocrbench_v2, "ocrbench_v2", OCR,
                       "OCRBench v2 (VQA-style types)", split="test", metric="ocrbench_v2"))
