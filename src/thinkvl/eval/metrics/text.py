"""Text answers: OCRBench containment, OCRBench v2's VQA rules, ChartQA relaxed accuracy,
MM-Vet's graded judge, and exact-then-judge short answers (ChartMuseum, CharXiv, MMVU).

Each rule follows the benchmark's published evaluation code; where that code compares the
whole response, thinkvl compares the *answer* (the box, else the text after the think block):
a chain of thought is never searched for a lucky substring.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from thinkvl.eval.benchmarks.base import EvalItem
from thinkvl.eval.metrics import Tally, Verdict, ok, rate, register_metric, right, wrong
from thinkvl.eval.parsing import parse_number, parse_text

MAX_COMPARE = 4000  # characters of an answer an edit distance is computed over


def levenshtein(a: str, b: str) -> int:
    a, b = a[:MAX_COMPARE], b[:MAX_COMPARE]
    if len(a) > len(b):
        a, b = b, a
    prev = list(range(len(a) + 1))
    for j, cb in enumerate(b, 1):
        cur = [j]
        for i, ca in enumerate(a, 1):
            cur.append(prev[i - 1] if ca == cb else 1 + min(prev[i - 1], prev[i], cur[-1]))
        prev = cur
    return prev[-1]


def anls(pred: str, gold: str, threshold: float = 0.5) -> float:
    """1 − normalised edit distance, 0 below the threshold (ANLS)."""
    length = max(len(pred), len(gold))
    if length == 0:
        return 1.0
    value = 1.0 - levenshtein(pred, gold) / length
    return value if value >= threshold else 0.0


def golds(item: EvalItem) -> list[str]:
    ans = item.answer
    return [str(a) for a in ans] if isinstance(ans, (list, tuple)) else [str(ans)]


def whole_answer(item: EvalItem, region: str) -> str | None:
    """The answer text as a whole: containment metrics read all of it (the published rule)."""
    text = region.strip()
    return text or None


# -- OCRBench ------------------------------------------------------------------------------------

def ocrbench(item: EvalItem, pred: str) -> Verdict:
    """OCRBench: right when a gold answer is contained in the prediction, case-insensitive
    with newlines as spaces; handwritten maths (HME100k) compares with all spaces removed,
    case-sensitive (the authors' ``eval`` rule). The benchmark score is the count out of 1000."""
    hme = item.meta.get("dataset") == "HME100k"
    p = pred.strip().replace("\n", " ")
    p = p.replace(" ", "") if hme else p.lower()
    for g in golds(item):
        g = g.strip().replace("\n", " ")
        g = g.replace(" ", "") if hme else g.lower()
        if g and g in p:
            return right(f"contains {g!r}")
    return wrong("no gold answer is contained in the prediction")


def ocrbench_total(pairs) -> dict[str, float]:
    total = sum(1 for _, s in pairs if ok(s))
    return {"score_out_of_n": float(total), "n": float(len(pairs))}


register_metric("ocrbench", ocrbench, whole_answer, ocrbench_total,
                "gold answer contained in the prediction (case-insensitive; HME100k: no spaces)")


# -- OCRBench v2 (its VQA-style task types) -----------------------------------------------------

def _v2_vqa(pred: str, answers: list[str], lower: bool, strip_spaces: bool, words: int,
            split_on: str | None) -> float:
    score = 0.0
    p = pred.strip().replace("\n", " ")
    p = p.lower() if lower else p
    p = p.replace(" ", "") if strip_spaces else p
    for a in answers:
        a = a.strip().replace("\n", " ")
        a = a.lower() if lower else a
        a = a.replace(" ", "") if strip_spaces else a
        short = len(a.split(split_on) if split_on else a.split()) < words
        if short:
            if a in p:
                score = 1.0
        else:
            score = max(score, anls(p, a))
    return score


def ocrbench_v2(item: EvalItem, pred: str) -> Verdict:
    """OCRBench v2, VQA-style types: short answers (< 5 words) by containment, longer ones by
    ANLS ≥ 0.5; ``case sensitive`` items keep case; ``multiple choice`` items compare the
    letters of the prediction with the gold; Chinese VQA removes spaces; counting by the
    published ``exact match``/``regression`` rules; formulas by space-free containment."""
    ev, kind = str(item.meta.get("eval") or ""), str(item.meta.get("type") or "")
    answers = golds(item)
    if ev == "multiple choice":
        letters = "".join(c for c in pred if c.isalpha())
        return right() if answers and letters == answers[0] else wrong("letters differ")
    if kind == "text counting en":
        return _v2_counting(pred, answers, ev)
    if kind.startswith("formula recognition"):
        p = pred.strip().replace("\n", " ").replace(" ", "")
        hit = any(a.strip().replace("\n", " ").replace(" ", "") in p for a in answers)
        return right() if hit else wrong("formula not contained")
    if kind.endswith(" cn"):
        s = _v2_vqa(pred, answers, True, True, 4, ",")
    else:
        s = _v2_vqa(pred, answers, ev != "case sensitive", False, 5, None)
    return Verdict(s, s >= 1.0, f"score {s:.3f}")


def _v2_counting(pred: str, answers: list[str], ev: str) -> Verdict:
    low = pred.lower().strip().replace("\n", " ")
    best = 0.0
    for a in answers:
        a = a.lower().strip().replace("\n", " ")
        if ev == "regression":
            m = re.search(r"\d+", low)
            if m and a.isdigit() and int(a) > 0:
                got, want = int(m.group()), int(a)
                if 0 < got < 2 * want:
                    iou = 1 - abs(got - want) / want
                    best = max(best, iou if iou > 0.5 else 0.0)
        elif a in low:
            best = 1.0
    return Verdict(best, best >= 1.0, f"score {best:.3f}")


V2_BUCKETS = {
    "text_recognition_en": ("text recognition en", "fine-grained text recognition en",
                            "full-page OCR en"),
    "text_detection_en": ("text grounding en", "VQA with position en"),
    "relationship_extraction_en": ("key information extraction en",
                                   "key information mapping en"),
    "element_parsing_en": ("document parsing en", "chart parsing en", "table parsing en",
                           "formula recognition en"),
    "mathematical_calculation_en": ("math QA en", "text counting en"),
    "visual_text_understanding_en": ("document classification en", "cognition VQA en",
                                     "diagram QA en"),
    "knowledge_reasoning_en": ("reasoning VQA en", "science QA en", "APP agent en",
                               "ASCII art classification en"),
    "element_parsing_cn": ("formula recognition cn",),
    "visual_text_understanding_cn": ("cognition VQA cn",),
    "knowledge_reasoning_cn": ("reasoning VQA cn",),
}


def ocrbench_v2_buckets(pairs) -> dict[str, float]:
    """The published per-capability means (over the task types thinkvl scores)."""
    sums: dict[str, list[float]] = defaultdict(list)
    owner = {t: b for b, types in V2_BUCKETS.items() for t in types}
    for item, s in pairs:
        bucket = owner.get(str(item.meta.get("type")))
        if bucket:
            sums[bucket].append(s.score if not s.missing else 0.0)
    out = {b: rate(sum(v), len(v)) for b, v in sorted(sums.items())}
    for lang in ("en", "cn"):
        vals = [x for b, v in sums.items() if b.endswith(lang) for x in v]
        if vals:
            out[f"overall_{lang}"] = rate(sum(vals), len(vals))
    return out


register_metric("ocrbench_v2", ocrbench_v2, whole_answer, ocrbench_v2_buckets,
                "OCRBench v2 VQA rules: containment < 5 words, else ANLS; letters; counting")


# -- ChartQA -----------------------------------------------------------------------------------

def _to_float(text: str) -> float | None:
    try:
        if text.endswith("%"):
            return float(text.rstrip("%")) / 100.0
        return float(text)
    except ValueError:
        return None


def relaxed(pred: str, target: str, tol: float = 0.05) -> bool:
    """ChartQA's relaxed correctness (pix2struct): numbers within 5% of a non-zero target
    ("x%" read as x/100); anything else exact, case-insensitive."""
    p, t = _to_float(pred), _to_float(target)
    if p is not None and t:
        return abs(p - t) / abs(t) <= tol
    return pred.lower() == target.lower()


def chartqa(item: EvalItem, pred: str) -> Verdict:
    p = pred.strip()
    for g in golds(item):
        if relaxed(p, g.strip()):
            return right(f"relaxed match with {g!r}")
    return wrong("outside 5% of the target (numbers) or not equal (text)")


def parse_chart(item: EvalItem, region: str) -> str | None:
    gold = golds(item)[0].strip()
    if _to_float(gold) is not None:
        num = parse_number(region)
        return num.replace(",", "") if num else None
    return parse_text(region)


register_metric("chartqa", chartqa, parse_chart, None,
                "relaxed accuracy: numbers within 5%, text exact (case-insensitive)")


# -- exact, then the judge ------------------------------------------------------------------------

def normalise(text: str) -> str:
    text = re.sub(r"\s+", " ", str(text).strip().lower())
    # strip, not a "[…]+$" regex: that one is quadratic in a long run of the stripped characters
    return text.lstrip("\"'([").rstrip("\"'.)]。").strip()


def exact_then_judge(item: EvalItem, pred: str) -> Verdict:
    """Short answers judged by the authors with an LLM (ChartMuseum, CharXiv, MMVU open):
    a normalised exact match settles it; otherwise the reward system's text verifier decides
    (numbers by value, then the judge; without a judge the answer counts as wrong)."""
    p = normalise(pred)
    if any(p == normalise(g) for g in golds(item)):
        return right("matches the reference (normalised)")
    return wrong("no exact match", verify=str(item.meta.get("verify_domain") or "vqa"))


register_metric("exact_judge", exact_then_judge, "text", None,
                "normalised exact match, else the LLM judge (binary)")


# -- MM-Vet --------------------------------------------------------------------------------------

def mmvet(item: EvalItem, pred: str) -> Verdict:
    """MM-Vet: the judge grades 0.0–1.0 against the answer (``<AND>``: all parts needed,
    ``<OR>``: any one). Without a judge only an exact match scores (flagged ``no_judge``)."""
    exact = normalise(pred) == normalise(str(item.answer))
    return Verdict(1.0 if exact else 0.0, exact, "exact match" if exact else "", grade=True)


def mmvet_capabilities(pairs) -> dict[str, float]:
    """Mean score per capability (an item counts for each of its capabilities) and overall,
    as the MM-Vet evaluator reports them."""
    per: dict[str, Tally] = defaultdict(Tally)
    total = 0.0
    for item, s in pairs:
        sc = 0.0 if s.missing or getattr(s, "error", None) else s.score
        total += sc
        caps = item.categories.get("capability") or []
        for cap in caps if isinstance(caps, list) else [caps]:
            t = per[str(cap)]
            t.n += 1
            t.extra["sum"] = t.extra.get("sum", 0.0) + sc
    out: dict[str, Any] = {"score": rate(total, len(pairs))}
    out.update({f"cap_{k}": rate(t.extra["sum"], t.n) for k, t in sorted(per.items())})
    return out


register_metric("mmvet", mmvet, whole_answer, mmvet_capabilities,
                "MM-Vet's 0-1 graded judge score (few-shot GPT grader prompt)")
