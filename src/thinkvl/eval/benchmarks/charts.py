"""Charts: ChartQA (relaxed accuracy), ChartMuseum and CharXiv reasoning (exact, then judge).

Not supported: CharXiv's descriptive questions (their question templates and grouped GPT
grading are not reproduced); only the reasoning questions the report cites are loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from thinkvl.eval.benchmarks.base import OPEN, BenchmarkSpec, EvalItem, register, user
from thinkvl.eval.benchmarks.rows import field, image_ref, read_rows, roots_for

CHARTQA_SUFFIX = "Answer the question with a single word or phrase."


def _image(row: dict, file: Path, path: Path, where: str) -> list[dict]:
    ref = image_ref(field(row, "image", where=where), roots_for(file, path), where)
    return [{"type": "image", "image": ref}] if ref else []


def load_chartqa(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """ChartQA test, as ``HuggingFaceM4/ChartQA`` (``image, query, label`` (a list),
    ``human_or_machine``) or ``lmms-lab/ChartQA`` (``type, question, answer, image``).
    Relaxed accuracy (numbers within 5%, text exact), by human / augmented split."""
    for file, n, row in read_rows(path, split="test"):
        where = f"{file} row {n}"
        q = str(field(row, "query", "question", where=where))
        label = field(row, "label", "answer", where=where)
        golds = [str(g) for g in (label if isinstance(label, list) else [label])]
        kind = row.get("type") or {0: "human_test", 1: "augmented_test"}.get(
            row.get("human_or_machine"), "test")
        text = f"{q}\n{CHARTQA_SUFFIX}"
        yield EvalItem(id=str(row.get("id") or n), bench="chartqa", family=OPEN, domain="chart",
                       prompt=user(_image(row, file, path, where) +
                                   [{"type": "text", "text": text}]),
                       answer=golds if len(golds) > 1 else golds[0], question=q,
                       base_dir=str(file.parent), group=str(kind), metric="chartqa",
                       categories={"split": str(kind)})


def load_chartmuseum(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """ChartMuseum (``lytang/ChartMuseum``, split ``test``): ``image`` (a path into the
    repository's ``images/`` folder), ``question, answer, reasoning_type, source, hash``.
    The authors judge equivalence with an LLM: exact match first, then the judge; by
    reasoning type (text, visual/text, synthesis, visual)."""
    for file, n, row in read_rows(path, split="test"):
        where = f"{file} row {n}"
        q = str(field(row, "question", where=where))
        rtype = str(row.get("reasoning_type") or "all")
        yield EvalItem(id=str(row.get("hash") or n), bench="chartmuseum", family=OPEN,
                       domain="chart",
                       prompt=user(_image(row, file, path, where) +
                                   [{"type": "text", "text": q}]),
                       answer=str(field(row, "answer", where=where)), question=q,
                       base_dir=str(file.parent), group=rtype,
                       metric="exact_judge", categories={"reasoning_type": rtype})


CHARXIV_INSTRUCTIONS = {  # by reasoning_q_source: 1 text-in-chart … 4 number-in-general
    1: "Answer with text that appears in the chart, copied exactly.",
    2: "Answer with a short phrase.",
    3: "Answer with a number that appears in the chart.",
    4: "Answer with a number, at the precision the question asks for.",
}
CHARXIV_SOURCES = {1: "text-in-chart", 2: "text-in-general", 3: "number-in-chart",
                   4: "number-in-general"}


def load_charxiv(path: Path, skipped: dict[str, int] | None = None) -> Iterator[EvalItem]:
    """CharXiv reasoning (``princeton-nlp/CharXiv``, split ``validation``): ``image,
    category, figure_path, reasoning_q, reasoning_q_source`` (1–4), ``reasoning_a`` …
    Exact match, then the judge (the authors grade with GPT-4o); by answer source."""
    for file, n, row in read_rows(path, split="validation"):
        where = f"{file} row {n}"
        src = int(row.get("reasoning_q_source") or 2)
        q = f"{field(row, 'reasoning_q', where=where)}\n{CHARXIV_INSTRUCTIONS.get(src, '')}"
        fid = str(row.get("figure_path") or row.get("original_id") or n)
        yield EvalItem(id=fid, bench="charxiv", family=OPEN, domain="chart",
                       prompt=user(_image(row, file, path, where) +
                                   [{"type": "text", "text": q.strip()}]),
                       answer=str(field(row, "reasoning_a", where=where)), question=q,
                       base_dir=str(file.parent), group=CHARXIV_SOURCES.get(src, str(src)),
                       metric="exact_judge",
                       categories={"source": CHARXIV_SOURCES.get(src, str(src)),
                                   **({"category": str(row["category"])}
                                      if row.get("category") else {})})


for _spec in (
    BenchmarkSpec("chartqa", load_chartqa, "chartqa", OPEN, "ChartQA test", split="test",
                  metric="chartqa"),
    BenchmarkSpec("chartmuseum", load_chartmuseum, "chartmuseum", OPEN, "ChartMuseum test",
                  split="test", metric="exact_judge"),
    BenchmarkSpec("charxiv", load_charxiv, "charxiv", OPEN, "CharXiv reasoning (validation)",
                  split="validation", metric="exact_judge"),
):
    register(_spec)
