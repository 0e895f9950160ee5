"""Maths benchmarks: MathVista's answer-type/precision normalisation, symbolic equivalence for
free-form answers (MathVision, MathVerse), We-Math's four dimensions and DynaMath's
worst-case accuracy.
"""

from __future__ import annotations

import math as _math
import re
from collections import defaultdict

from thinkvl.eval.benchmarks.base import EvalItem
from thinkvl.eval.metrics import Tally, Verdict, ok, options_of, rate, register_metric, right, wrong
from thinkvl.eval.metrics.choice import choice, gold_letters, parse_letters
from thinkvl.eval.parsing import NUMBER_RE, parse_number, parse_text


def _number_text(pred: str, unit: str | None = None) -> str:
    """The one number of a short answer (units and thousands separators dropped), else the
    answer unchanged: "1.45 cm" → "1.45", "1,200" → "1200"."""
    text = pred.strip()
    if unit and text.endswith(str(unit)):
        text = text[: -len(str(unit))].strip()
    nums = NUMBER_RE.findall(text)
    if len(set(nums)) == 1:
        return nums[0].replace(",", "").replace("\u2212", "-")
    return text


def mathvista(item: EvalItem, pred: str) -> Verdict:
    """MathVista's ``normalize_extracted_answer`` then string equality: multiple choice by
    letter or the option's exact text (the published "most similar option" fallback is a
    guess and is not used); integers as ``str(int(float(x)))``; floats as
    ``str(round(float(x), precision))``; lists as written."""
    atype = item.meta.get("answer_type") or "text"
    if options_of(item):
        return choice(item, pred)
    text = _number_text(pred, item.meta.get("unit")) if atype in ("integer", "float") else pred
    try:
        if atype == "integer":
            norm = str(int(float(text)))
        elif atype == "float":
            norm = str(round(float(text), int(item.meta.get("precision") or 0)))
        else:
            norm = str(text).strip()
    except (TypeError, ValueError):
        return wrong(f"{pred[:40]!r} is not a {atype}", flags=("unparsable",))
    gold = str(item.answer).strip()
    return right(norm) if norm == gold else wrong(f"{norm!r} vs {gold!r}")


def parse_mathvista(item: EvalItem, region: str) -> str | None:
    if options_of(item):
        return parse_letters(item, region)
    if (item.meta.get("answer_type") or "") in ("integer", "float"):
        return parse_number(region)
    return parse_text(region)


register_metric("mathvista", mathvista, parse_mathvista, None,
                "answer type + precision normalisation, then exact string match")


def _is_number(text: str) -> bool:
    try:
        float(str(text).replace(",", ""))
        return True
    except ValueError:
        return False


def math_answer(item: EvalItem, pred: str) -> Verdict:
    """Multiple choice by letter; free-form answers by symbolic/numeric equivalence (the
    reward system's maths verifier: math-verify + sympy under a time limit), standing in for
    the GPT equivalence check of MathVision/MathVerse."""
    if options_of(item) or item.meta.get("multiple_choice"):
        return choice(item, pred)
    return wrong("symbolic check", verify="math")


def parse_math(item: EvalItem, region: str) -> str | None:
    if options_of(item) or item.meta.get("multiple_choice"):
        return parse_letters(item, region)
    if _is_number(str(item.answer)):
        return parse_number(region)
    return parse_text(region)


register_metric("math", math_answer, parse_math, None,
                "letters for choices; symbolic equivalence (math-verify) for free-form answers")


# -- We-Math -------------------------------------------------------------------------------------

def wemath_dimensions(pairs) -> dict[str, float]:
    """We-Math's four dimensions over its multi-step problems (an ``ID`` with sub-questions
    ``Nsteps_1..N`` and the composite ``Nsteps_multi``): IK (a step wrong, composite wrong),
    IG (all steps right, composite wrong), CM (all steps right, composite right; loose: any
    step right), RM (composite right but a step wrong; loose: all steps wrong), as rates of
    the composite problems (RM as a share of CM + RM); Score = 1 − (0.5·IG + RM + IK)/total."""
    probs: dict[str, dict[str, bool]] = defaultdict(dict)
    for item, s in pairs:
        key = str(item.meta.get("key") or "")
        m = re.fullmatch(r"(\d)steps?_(\w+)", key)
        if m and m.group(1) in ("2", "3"):
            probs[f"{m.group(1)}:{item.meta.get('problem_id')}"][m.group(2)] = ok(s)
    counts = dict.fromkeys(("IK", "IG", "CM_strict", "CM_loose", "RM_strict", "RM_loose"), 0)
    total = 0
    for name, parts in probs.items():
        n = int(name.split(":")[0])
        steps = [parts.get(str(i)) for i in range(1, n + 1)]
        if "multi" not in parts or any(v is None for v in steps):
            continue  # an incomplete problem (e.g. under --limit) is not counted
        total += 1
        multi, all_ok, any_ok = parts["multi"], all(steps), any(steps)
        if multi:
            counts["CM_strict"] += all_ok
            counts["RM_strict"] += not all_ok
            counts["CM_loose"] += any_ok
            counts["RM_loose"] += not any_ok
        else:
            counts["IG"] += all_ok
            counts["IK"] += not all_ok
    if not total:
        return {"problems": 0.0}
    out = {"problems": float(total), "IK": rate(counts["IK"], total),
           "IG": rate(counts["IG"], total)}
    for mode in ("strict", "loose"):
        cm, rm = counts[f"CM_{mode}"], counts[f"RM_{mode}"]
        out[f"CM_{mode}"] = rate(cm, total)
        out[f"RM_{mode}"] = rate(rm, cm + rm)
        out[f"score_{mode}"] = rate(total - 0.5 * counts["IG"] - rm - counts["IK"], total)
    return out


register_metric("wemath", choice, parse_letters, wemath_dimensions,
                "letters; IK / IG / CM / RM and the strict/loose scores")


# -- DynaMath ------------------------------------------------------------------------------------

def dynamath(item: EvalItem, pred: str) -> Verdict:
    """DynaMath: multiple choice by letter, floats within 0.001 absolute, text exact."""
    atype = str(item.meta.get("answer_type") or "").lower()
    if "choice" in atype or gold_letters(item) and options_of(item):
        return choice(item, pred)
    if atype == "float" or _is_number(str(item.answer)):
        try:
            got, want = float(_number_text(pred)), float(str(item.answer).replace(",", ""))
        except ValueError:
            return wrong(f"{pred[:40]!r} is not a number", flags=("unparsable",))
        return right() if _math.isclose(got, want, abs_tol=1e-3) else wrong(f"{got} vs {want}")
    same = pred.strip().lower() == str(item.answer).strip().lower()
    return right() if same else wrong("text differs")


def parse_dynamath(item: EvalItem, region: str) -> str | None:
    atype = str(item.meta.get("answer_type") or "").lower()
    if "choice" in atype:
        return parse_letters(item, region)
    if atype == "float" or _is_number(str(item.answer)):
        return parse_number(region)
    return parse_text(region)


def worst_case(pairs) -> dict[str, float]:
    """Average-case accuracy over all variants, worst-case over seed questions (a seed counts
    only when all its variants are right), and reasoning robustness = worst / average."""
    seeds: dict[str, Tally] = defaultdict(Tally)
    for item, s in pairs:
        seeds[str(item.meta.get("seed", item.id))].add(ok(s))
    avg = rate(sum(t.right for t in seeds.values()), sum(t.n for t in seeds.values()))
    worst = rate(sum(t.all_right for t in seeds.values()), len(seeds))
    return {"average_case": avg, "worst_case": worst, "seeds": float(len(seeds)),
            "robustness": rate(worst, avg)}


register_metric("dynamath", dynamath, parse_dynamath, worst_case,
                "letters / floats within 1e-3 / text; average- and worst-case accuracy")
