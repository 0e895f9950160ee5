"""Multiple choice and yes/no: option letters, MMMU's published parsers (multiple choice and
open answers, with its number rounding), MMBench circular evaluation, HallusionBench's
question/figure accuracies, and letters for video benchmarks (MVBench, Video-MME, LVBench).

MMMU's own code falls back to a *random* option when it finds none; thinkvl never guesses —
such an answer goes to the LLM parser, and is invalid when that finds none either.
"""

from __future__ import annotations

import re
from collections import defaultdict

from thinkvl.eval.benchmarks.base import LETTERS, EvalItem
from thinkvl.eval.metrics import Tally, Verdict, ok, options_of, rate, register_metric, right, wrong
from thinkvl.eval.parsing import letter, parse_choice, parse_yesno

_MULTI_RE = re.compile(r"\(?([A-Z])\)?(?:\s*(?:,|&|and|\s)\s*\(?([A-Z])\)?)+")


def gold_letters(item: EvalItem) -> set[str]:
    ans = item.answer
    vals = ans if isinstance(ans, (list, tuple)) else re.findall(r"[A-Z]", str(ans).upper())
    return {str(v).strip().upper() for v in vals if str(v).strip()}


def pred_letters(pred: str, item: EvalItem) -> set[str]:
    """The option letters a short answer commits to: one letter (or option text), or several
    for benchmarks whose answers are letter sets (LogicVista's "A, C")."""
    t = pred.strip().strip(".")
    if _MULTI_RE.fullmatch(t):  # "A, C", "(A) and (C)": several letters, no option text
        return set(re.findall(r"[A-Z]", t.replace("and", "")))
    one = letter(pred, options_of(item), strict=False)
    return {one} if one else set()


def choice(item: EvalItem, pred: str) -> Verdict:
    """Letter accuracy: the prediction's option (letter, "(B) text" or the option's own text)
    must be the gold one; several options in one answer are wrong (no partial credit)."""
    got, want = pred_letters(pred, item), gold_letters(item)
    if not got:
        return wrong(f"no option letter in {pred[:40]!r}", flags=("unparsable",))
    return right(f"option {''.join(sorted(got))}") if got == want else \
        wrong(f"option {''.join(sorted(got))} vs {''.join(sorted(want))}")


def parse_letters(item: EvalItem, region: str) -> str | None:
    got = parse_choice(region, options_of(item))
    if got:
        return got
    multi = len(gold_letters(item)) > 1
    t = region.strip().strip(".").upper()
    return t if multi and len(t) < 20 and _MULTI_RE.fullmatch(t) else None


register_metric("choice", choice, parse_letters, None, "option-letter accuracy")


# -- MMMU ----------------------------------------------------------------------------------------

def mmmu_choice_parse(response: str, options: dict[str, str]) -> str | None:
    """MMMU's ``parse_multi_choice_response`` without the random fallback: "(B)", then " B ",
    then (answers over five words) an option's text; several candidates → the last one."""
    for ch in (",", ".", "!", "?", ";", ":", "'"):
        response = response.strip(ch)
    response = f" {response} "
    choices = list(options) or list(LETTERS[:4])
    cands = [c for c in choices if f"({c})" in response]
    brackets, by_text = bool(cands), False
    if not cands:
        cands = [c for c in choices if f" {c} " in response]
    if not cands and len(response.split()) > 5:
        cands = [c for c, text in options.items() if text and text.lower() in response.lower()]
        by_text = bool(cands)
    if not cands:
        return None
    if len(cands) == 1:
        return cands[0]
    if by_text:
        pos = [response.lower().rfind(options[c].lower()) for c in cands]
    elif brackets:
        pos = [response.rfind(f"({c})") for c in cands]
    else:
        pos = [response.rfind(f" {c} ") for c in cands]
    return cands[max(range(len(cands)), key=pos.__getitem__)]


def _check_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False


def mmmu_normalise(text: str) -> list:
    """MMMU's ``normalize_str``: numbers to floats rounded to 2 places; one-letter strings
    padded with a space (so "a" does not match inside words); otherwise lower-cased."""
    text = text.strip()
    if _check_number(text):
        return [round(float(text.replace(",", "")), 2)]
    text = text.lower()
    return [" " + text, text + " "] if len(text) == 1 else [text]


_NUM_COMMAS = re.compile(r"-?\b\d{1,3}(?:,\d{3})+\b")
_NUM_SCI = re.compile(r"-?\d+(?:\.\d+)?[eE][+-]?\d+")
_NUM_SIMPLE = re.compile(r"-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d])")
_INDICATORS = ("could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result ")


def mmmu_open_parse(response: str) -> list:
    """MMMU's ``parse_open_response``: key phrases after indicator words (shortest tail per
    line; "=" on the last line too), plus every number in them, normalised."""
    text = response.strip().strip(".").lower()
    # The published code splits on r"\.\s(?=[A-Z])" *after* lower-casing, so only newlines split.
    subs = re.split(r"\.\s(?=[A-Z])|\n", text)
    keys = []
    for i, sub in enumerate(subs):
        inds = _INDICATORS + (("=",) if i == len(subs) - 1 else ())
        shortest = None
        for ind in inds:
            if ind in sub:
                tail = sub.split(ind)[-1].strip()
                if shortest is None or len(tail) < len(shortest):
                    shortest = tail
        if shortest and shortest.strip() not in (":", ",", ".", "!", "?", ";", "'"):
            keys.append(shortest)
    if not keys:
        keys = [text]
    preds = list(keys)
    for k in keys:
        preds += _NUM_COMMAS.findall(k) + _NUM_SCI.findall(k) + _NUM_SIMPLE.findall(k)
    out = []
    for p in preds:
        for v in mmmu_normalise(p):
            if v not in out:
                out.append(v)
    return out


def mmmu_open_correct(gold, preds: list) -> bool:
    """MMMU's ``eval_open``: a string gold must be contained in a string prediction; a number
    must equal a predicted number after rounding to 2 places."""
    golds = gold if isinstance(gold, (list, tuple)) else [gold]
    norm = [v for g in golds for v in mmmu_normalise(str(g))]
    for p in preds:
        if isinstance(p, str):
            if any(isinstance(g, str) and g in p for g in norm):
                return True
        elif p in norm:
            return True
    return False


def mmmu(item: EvalItem, pred: str) -> Verdict:
    if item.meta.get("question_type") == "open" or not options_of(item):
        preds = mmmu_open_parse(pred)
        ok_ = mmmu_open_correct(item.answer, preds)
        return right("MMMU open match") if ok_ else wrong(f"MMMU open: {preds[:4]} vs gold")
    got = mmmu_choice_parse(pred, options_of(item))
    if got is None:
        return wrong("no option found (MMMU parser)", flags=("unparsable",))
    want = str(item.answer).strip().upper()
    return right(f"option {got}") if got == want else wrong(f"option {got} vs {want}")


def parse_mmmu(item: EvalItem, region: str) -> str | None:
    if item.meta.get("question_type") == "open" or not options_of(item):
        return region.strip() or None
    return mmmu_choice_parse(region, options_of(item))


register_metric("mmmu", mmmu, parse_mmmu, None,
                "MMMU parsers: option (no random fallback) / open answers, numbers to 2 places")


# -- MMBench circular evaluation ------------------------------------------------------------------

def circular(pairs) -> dict[str, float]:
    """MMBench CircularEval: a question counts only when every rotation of its options is
    answered right; per category and L2 category as well; ``vanilla`` is rotation 0 alone."""
    groups: dict[str, Tally] = defaultdict(Tally)
    vanilla, cats = Tally(), {}
    for item, s in pairs:
        key = str(item.meta.get("circular_group", item.id))
        groups[key].add(ok(s))
        cats[key] = {k: item.categories.get(k) for k in ("category", "l2-category")}
        if not item.meta.get("rotation"):
            vanilla.add(ok(s))
    out = {"circular_accuracy": rate(sum(t.all_right for t in groups.values()), len(groups)),
           "vanilla_accuracy": rate(vanilla.right, vanilla.n), "questions": float(len(groups))}
    for dim in ("category", "l2-category"):
        per: dict[str, Tally] = defaultdict(Tally)
        for key, t in groups.items():
            if cats[key].get(dim):
                per[str(cats[key][dim])].add(t.all_right)
        out.update({f"{dim}/{k}": rate(v.right, v.n) for k, v in sorted(per.items())})
    return out


register_metric("mmbench", choice, parse_letters, circular,
                "CircularEval: every rotation of a question's options must be right")


# -- HallusionBench ------------------------------------------------------------------------------

def yesno(item: EvalItem, pred: str) -> Verdict:
    got = parse_yesno(pred)
    if got is None:
        return wrong("neither yes nor no", flags=("unparsable",))
    want = "Yes" if str(item.answer).strip().lower() in ("1", "yes", "true") else "No"
    return right(got) if got == want else wrong(f"{got} vs {want}")


def hallusion(pairs) -> dict[str, float]:
    """HallusionBench: aAcc over all questions; fAcc over figures (every question about one
    figure right; questions without a figure, VS with figure_id 0, left out); qAcc over
    questions (one question right across all its figures)."""
    figs: dict[str, Tally] = defaultdict(Tally)
    qs: dict[str, Tally] = defaultdict(Tally)
    right_n = 0
    for item, s in pairs:
        m = item.meta
        good = ok(s)
        right_n += good
        base = f"{m.get('category')}_{m.get('subcategory')}_{m.get('set_id')}"
        if not (m.get("category") == "VS" and str(m.get("figure_id")) == "0"):
            figs[f"{base}_{m.get('figure_id')}"].add(good)
        qs[f"{base}_{m.get('question_id')}"].add(good)
    return {"aAcc": rate(right_n, len(pairs)),
            "fAcc": rate(sum(t.all_right for t in figs.values()), len(figs)),
            "qAcc": rate(sum(t.all_right for t in qs.values()), len(qs))}


register_metric("hallusionbench", yesno, lambda item, region: parse_yesno(region), hallusion,
                "yes/no accuracy; qAcc / fAcc / aAcc")
