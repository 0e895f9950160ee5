"""Referring-expression grounding: RefCOCO, RefCOCO+ and RefCOCOg (REC, Acc@0.5).

Published layout (``lmms-lab/RefCOCO``, ``lmms-lab/RefCOCOplus``, ``lmms-lab/RefCOCOg``;
splits val / testA / testB / test): ``question_id, image, question, answer`` (the referring
expressions, a list), ``segmentation, bbox`` (COCO ``[x, y, w, h]`` in pixels), ``iscrowd,
file_name``. One item per expression, as the published evaluation explodes them; the box is
converted to thinkvl's 0–1000 ``[x1, y1, x2, y2]`` grid with the image's own size.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from thinkvl.eval.benchmarks.base import GROUNDING, BenchmarkSpec, EvalItem, register, user
from thinkvl.eval.benchmarks.rows import (
    RowError,
    as_list,
    field,
    image_ref,
    image_size,
    read_rows,
    roots_for,
)
from thinkvl.eval.metrics.spatial import to_grid

GROUNDING_PROMPT = ("Locate the region this sentence describes and give its bounding box as "
                    "[x1, y1, x2, y2] on a 0-1000 grid: {expr}")


def _refcoco(path: Path, bench: str, split: str) -> Iterator[EvalItem]:
    for file, n, row in read_rows(path, split=split):
        where = f"{file} row {n}"
        ref = image_ref(field(row, "image", "file_name", where=where), roots_for(file, path),
                        where)
        if ref is None:
            raise RowError(f"{where}: no image")
        width, height = image_size(ref)
        box = [float(v) for v in as_list(field(row, "bbox", where=where), where)]
        try:
            gold = to_grid(box, width, height, "xywh")
        except ValueError as exc:
            raise RowError(f"{where}: field 'bbox': {exc}") from None
        exprs = row.get("answer") or row.get("sentences") or row.get("refexp") or []
        exprs = [str(e) for e in (exprs if isinstance(exprs, list) else [exprs])]
        if not exprs:
            raise RowError(f"{where}: no referring expression (fields 'answer' or 'sentences')")
        qid = str(row.get("question_id") or n)
        for k, expr in enumerate(exprs):
            text = GROUNDING_PROMPT.format(expr=expr)
            yield EvalItem(id=f"{qid}-{k}", bench=bench, family=GROUNDING, domain="grounding",
                           prompt=user([{"type": "image", "image": ref},
                                        {"type": "text", "text": text}]),
                           answer=[round(v, 3) for v in gold], question=text,
                           base_dir=str(file.parent),
                           meta={"image_size": [width, height], "bbox_xywh": box},
                           metric="refcoco")


def load_refcoco(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    yield from _refcoco(path, "refcoco", "val")


def load_refcoco_plus(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    yield from _refcoco(path, "refcoco+", "val")


def load_refcocog(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    yield from _refcoco(path, "refcocog", "val")


for _name, _loader in (("refcoco", load_refcoco), ("refcoco+", load_refcoco_plus),
                       ("refcocog", load_refcocog)):
    register(BenchmarkSpec(_name, _loader, _name, GROUNDING, f"{_name} REC (Acc@0.5)",
                           split="val", metric="refcoco"))
