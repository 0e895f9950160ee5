"""Long documents: MMLongBench-Doc (``yubo2333/MMLongBench-Doc``, split ``train``).

Rows: ``doc_id, doc_type, question, answer, evidence_pages, evidence_sources,
answer_format`` (Str / Int / Float / List / None). The documents are PDFs; thinkvl reads
their pages as images, either pre-rendered (``documents/<doc name>/`` holding one image per
page, ordered by the number in the file name) or rendered from ``documents/<doc_id>`` when
PyMuPDF is installed. Every page is shown (as the authors do), sampled uniformly down to
:data:`MAX_PAGES` for longer documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from thinkvl.eval.benchmarks.base import OPEN, BenchmarkSpec, EvalItem, register, user
from thinkvl.eval.benchmarks.rows import RowError, as_list, field, read_rows

MAX_PAGES = 120
_PAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")


def _page_number(p: Path) -> int:
    nums = re.findall(r"\d+", p.stem)
    return int(nums[-1]) if nums else 0


def _render_pdf(pdf: Path, out: Path) -> list[Path]:
    try:
        import fitz  # PyMuPDF, optional
    except ImportError:
        raise RowError(f"{pdf}: pages are not rendered; render them to {out}/ (one image per "
                       f"page) or install PyMuPDF") from None
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    with fitz.open(pdf) as doc:
        for i, page in enumerate(doc, 1):
            target = out / f"page_{i}.png"
            if not target.exists():
                page.get_pixmap(dpi=144).save(str(target))
            pages.append(target)
    return pages


def document_pages(doc_id: str, roots: list[Path], where: str) -> list[Path]:
    """The page images of a document, in page order, at most :data:`MAX_PAGES`."""
    stem = Path(doc_id).stem
    for root in roots:
        for folder in (root / "documents" / stem, root / stem, root / "documents" / doc_id):
            if folder.is_dir():
                pages = sorted((p for p in folder.iterdir() if p.suffix.lower() in _PAGE_EXTS),
                               key=_page_number)
                if pages:
                    return _sample(pages)
        pdf = root / "documents" / doc_id
        if pdf.is_file():
            return _sample(_render_pdf(pdf, root / "documents" / stem))
    looked = ", ".join(str(r / "documents") for r in roots)
    raise RowError(f"{where}: document {doc_id!r} has no pages under {looked}")


def _sample(pages: list[Path]) -> list[Path]:
    if len(pages) <= MAX_PAGES:
        return pages
    step = (len(pages) - 1) / (MAX_PAGES - 1)
    return [pages[round(i * step)] for i in range(MAX_PAGES)]


def load_mmlongbench_doc(path: Path, skipped: dict[str, int] | None = None
                         ) -> Iterator[EvalItem]:
    top = path if path.is_dir() else path.parent
    roots = [top, top.parent]
    for file, n, row in read_rows(path, split="train"):
        where = f"{file} row {n}"
        doc_id = str(field(row, "doc_id", where=where))
        pages = document_pages(doc_id, roots, where)
        q = str(field(row, "question", where=where))
        text = (f"{q}\nIf the document does not contain the answer, answer "
                f"\"Not answerable\".")
        evidence = as_list(row.get("evidence_pages"), where)
        sources = [str(s) for s in as_list(row.get("evidence_sources"), where)]
        fmt = str(row.get("answer_format") or "Str")
        span = "unanswerable" if fmt == "None" else (
            "single-page" if len(evidence) == 1 else "multi-page")
        yield EvalItem(id=f"{doc_id}-{n}", bench="mmlongbench_doc", family=OPEN,
                       domain="long_doc",
                       prompt=user([{"type": "image", "image": str(p)} for p in pages]
                                   + [{"type": "text", "text": text}]),
                       answer=field(row, "answer", where=where), question=q,
                       base_dir=str(file.parent), group=span,
                       meta={"answer_format": fmt, "evidence_pages": evidence},
                       metric="mmlongbench_doc",
                       categories={"evidence": span, "source": sources,
                                   "doc_type": str(row.get("doc_type") or "")})


register(BenchmarkSpec("mmlongbench_doc", load_mmlongbench_doc, "mmlongbench_doc", OPEN,
                       "MMLongBench-Doc", split="train", metric="mmlongbench_doc"))
