"""MMLongBench-Doc: per-format answer scoring, accuracy and the generalised F1.

The authors extract a short answer with GPT-4o and then score it by ``answer_format``:
Int exactly, Float within 1% (a percentage may be written either way), Str by exact match
for URLs/dates/file names/page numbers and ANLS otherwise, List element by element,
"Not answerable" (format None) as a string. The F1 weighs answerable and unanswerable
questions: recall over questions that have an answer, precision over predictions that give
one.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

from thinkvl.eval.benchmarks.base import EvalItem
from thinkvl.eval.metrics import Verdict, rate, register_metric
from thinkvl.eval.metrics.text import anls

NOT_ANSWERABLE = "not answerable"


def clean(value: Any) -> str:
    text = str(value if value is not None else "").lower().strip()
    text = re.sub(r"\s*\([^)]*\)", "", text).strip()  # drop parentheticals ("5 (five)")
    text = text.strip("'\"").lstrip("$").rstrip("%").strip()
    for suffix in (" miles", " mile", " million"):
        if text.endswith(suffix):
            text = text[: -len(suffix)].strip()
    return " ".join(text.split())


def _exact_kind(text: str) -> bool:
    """Strings the authors compare exactly: URLs, file names, pages, numbers, dates, e-mails."""
    return bool("http://" in text or "https://" in text or text.endswith((".py", ".ipynb"))
                or text.startswith("page") or re.fullmatch(r"\d+(-\d+|\s\d+)?", text)
                or "a.m." in text or "p.m." in text
                or re.fullmatch(r"\d{4}[-\s]\d{2}([-\s]\d{2})?", text)
                or re.fullmatch(r"[\w.%+-]+@[\w.-]+\.[a-z]{2,}", text))


def _first_number(value: Any) -> float | None:
    m = re.search(r"[-+]?\d*\.?\d+", str(value or "").replace(",", ""))
    return float(m.group(0)) if m else None


def _float_equal(gold: float, pred: float) -> bool:
    for cand in (gold / 100.0, gold, gold * 100.0):  # 45% may be written 0.45 or 45
        if math.isclose(cand, pred, rel_tol=0.01):
            return True
    return False


def _as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    try:
        got = ast.literal_eval(str(value))
    except (ValueError, SyntaxError):
        got = None
    if isinstance(got, (list, tuple)):
        return [str(v) for v in got]
    return [s for s in (p.strip() for p in str(value).split(",")) if s]


def doc_score(gold: Any, pred: str, fmt: str) -> float:
    fmt = (fmt or "Str").strip().lower()
    if fmt in ("int", "integer"):
        g, p = _first_number(gold), _first_number(pred)
        return float(g is not None and p is not None and int(g) == int(p))
    if fmt == "float":
        g, p = _first_number(gold), _first_number(pred)
        return float(g is not None and p is not None and _float_equal(g, p))
    if fmt == "list":
        gs, ps = sorted(clean(x) for x in _as_list(gold)), sorted(clean(x) for x in _as_list(pred))
        if len(gs) != len(ps) or not gs:
            return 0.0
        if _first_number(gs[0]) is not None or _exact_kind(gs[0]):
            return float(gs == ps)
        return min(anls(p, g) for g, p in zip(gs, ps))
    g, p = clean(gold), clean(pred)
    return float(g == p) if _exact_kind(g) else anls(p, g)


def mmlongbench(item: EvalItem, pred: str) -> Verdict:
    s = doc_score(item.answer, pred, str(item.meta.get("answer_format") or "Str"))
    return Verdict(s, s >= 1.0 - 1e-9, f"score {s:.3f}")


def answerable(value: Any) -> bool:
    return clean(value) != NOT_ANSWERABLE


def doc_f1(pairs) -> dict[str, float]:
    """Accuracy (mean score) and the generalised F1 of answerable/unanswerable questions."""
    scores = [(item, 0.0 if s.missing or getattr(s, "error", None) else s.score, s)
              for item, s in pairs]
    acc = rate(sum(sc for _, sc, _ in scores), len(scores))
    gt_pos = [sc for item, sc, _ in scores if answerable(item.answer)]
    pred_pos = [sc for _, sc, s in scores if s.prediction and answerable(s.prediction)]
    recall = sum(gt_pos) / len(gt_pos) if gt_pos else 0.0
    precision = sum(pred_pos) / len(pred_pos) if pred_pos else 0.0
    f1 = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
    return {"accuracy": acc, "f1": round(f1, 6), "recall": round(recall, 6),
            "precision": round(precision, 6)}


register_metric("mmlongbench_doc", mmlongbench, "text", doc_f1,
                "per-format scoring (Int/Float/Str ANLS/List/None); accuracy and generalised F1")
