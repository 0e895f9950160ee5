"""Score a response: extract one prediction, then verify it with the reward system's verifiers.

Extraction order (never a random guess; an empty or missing prediction scores 0 and counts as
*invalid*):
  1. the box: the single ``<|begin_of_box|>…<|end_of_box|>`` of the answer (after ``</think>``);
  2. rule-based parsers per answer kind ("the answer is (C)", a lone number, a ``[x1, y1, x2,
     y2]`` box…) over the answer text only — a think block that never closed has no answer;
  3. the LLM parser (the judge endpoint, cached) only when both fail.
The prediction is then wrapped in a canonical response and scored by ``RewardSystem`` under the
family's domain, so benchmarks and RL rewards share one set of verifiers. Family specifics:
numeric answers are rounded to the benchmark's precision first; OCR uses ANLS (similarity
below the threshold scores 0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from thinkvl.eval.benchmarks import (CHOICE, GROUNDING, GUI, LETTERS, NATIVE, NUMERIC, OCR, OPEN,
                                     EvalItem)
from thinkvl.format import (ANSWER_CLOSE, ANSWER_OPEN, BOX_CLOSE, BOX_OPEN, THINK_CLOSE,
                            THINK_OPEN, make_response, split_boxes, strip_markers)

_PHRASE_RE = re.compile(
    r"(?:final\s+answer|the\s+answer|answer|correct\s+(?:option|choice)|option|choice)"
    r"\s*(?:is\b|would\s+be|should\s+be|[:：=])\s*[:：]?\s*", re.IGNORECASE)
_NUMBER_RE = re.compile(r"(?<![\w.])[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])")
_BOX4_RE = re.compile(r"\[\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*,"
                      r"\s*(\d+(?:\.\d+)?)\s*\]")
_ACTION_RE = re.compile(
    r"\b(?:click|double_click|right_click|long_press|hover|type|scroll|press|open|answer)\s*"
    r"(?:\[[^\]]*\]|\([^)]*\))(?:\s*[\"'][^\"']*[\"'])?", re.IGNORECASE)
_JSON_OBJ_RE = re.compile(r"\{[^{}]*\"action(?:_type)?\"[^{}]*\}")
MAX_TEXT_ANSWER = 300  # a longer free-text "answer" is not a short answer; the LLM parser decides

# Which rule parser reads free text, per family (NATIVE: per domain).
_PARSER_BY_FAMILY = {CHOICE: "choice", NUMERIC: "number", OCR: "text", GROUNDING: "grounding",
                     GUI: "gui", OPEN: "text"}
_PARSER_BY_DOMAIN = {"choice": "choice", "counting": "number", "math": "number",
                     "grounding": "grounding", "gui": "gui"}


@dataclass
class Scored:
    prediction: str | None
    method: str  # box | rule | llm | none
    score: float
    correct: bool
    invalid: bool
    missing: bool = False  # the judge could not decide: left out of accuracy, reported
    judge_failed: bool = False
    reason: str = ""
    flags: set[str] = field(default_factory=set)


# -- extraction ----------------------------------------------------------------------------------


def answer_region(text: str) -> str:
    """The text a final answer may come from: after ``</think>``, without answer tags.

    A response that opens a think block and never closes it has no answer (empty region), so a
    truncated chain of thought can never be mined for a lucky number.
    """
    text = text or ""
    if THINK_OPEN in text or THINK_CLOSE in text:
        if THINK_CLOSE not in text:
            return ""
        text = text.split(THINK_CLOSE, 1)[1]
    return text.replace(ANSWER_OPEN, " ").replace(ANSWER_CLOSE, " ").strip()


def parser_kind(item: EvalItem) -> str:
    if item.family == NATIVE:
        return _PARSER_BY_DOMAIN.get(item.domain, "text")
    return _PARSER_BY_FAMILY[item.family]


def options_of(item: EvalItem) -> dict[str, str]:
    """{letter: text} from ``meta["choices"]`` (list) or ``meta["options"]`` (dict or list)."""
    opts = item.meta.get("choices") or item.meta.get("options") or []
    if isinstance(opts, dict):
        return {str(k).strip().upper(): str(v) for k, v in opts.items()}
    return {LETTERS[i]: str(v) for i, v in enumerate(opts[:26])}


def _norm(text: str) -> str:
    # rstrip, not a "[\s.]+$" regex: that one is quadratic in a long run of dots
    return re.sub(r"\s+", " ", text.strip().lower()).rstrip(" .。")


def _letter(text: str, options: dict[str, str], strict: bool) -> str | None:
    """One option letter from ``text``: ``C``, ``(C)``, ``C.``/``C)`` + text, or an option's text.
    ``strict`` (whole answers) refuses a bare leading capital like the article in "A cat…"."""
    valid = set(options) or set(LETTERS[:10])
    t = text.strip().strip("*_` ").rstrip(".")
    m = re.fullmatch(r"\(?([A-Z])\)?", t)
    if m and m.group(1) in valid:
        return m.group(1)
    loose = "" if strict else r"|^([A-Z])(?:\s|,|$)"
    m = re.match(r"^\(([A-Z])\)|^([A-Z])[.):](?:\s|$)" + loose, t)
    if m:
        letter = next(g for g in m.groups() if g)
        if letter in valid:
            return letter
    hits = [k for k, v in options.items() if _norm(v) and _norm(v) == _norm(t)]
    return hits[0] if len(hits) == 1 else None


def _phrases(region: str) -> list[str]:
    """Candidates stated as "the answer is X" (each up to the end of its line)."""
    out = []
    for line in region.splitlines():
        starts = list(_PHRASE_RE.finditer(line))
        for m, nxt in zip(starts, starts[1:] + [None]):
            cand = line[m.end():nxt.start() if nxt else len(line)].strip().rstrip(".")
            if cand:
                out.append(cand)
    return out


def _agree(values: list[str | None]) -> str | None:
    """The one value all non-None candidates agree on, else None (conflicting answers)."""
    found = {v for v in values if v}
    return found.pop() if len(found) == 1 else None


def rule_parse(kind: str, region: str, item: EvalItem) -> str | None:
    """A prediction from free answer text by rules, or None when it is not unambiguous."""
    region = strip_markers(region) if BOX_OPEN in region or BOX_CLOSE in region else region.strip()
    if not region:
        return None
    phrases = _phrases(region)
    if kind == "choice":
        options = options_of(item)
        if phrases:
            return _agree([_letter(p, options, strict=False) for p in phrases])
        return _letter(region, options, strict=True)
    if kind == "number":
        for cand in (phrases[-1:] if phrases else []) + [region]:
            nums = _NUMBER_RE.findall(cand)
            if len(set(nums)) == 1:
                return nums[0]
        return None
    if kind == "grounding":
        boxes = ["[" + ", ".join(m) + "]" for m in _BOX4_RE.findall(region)]
        if not boxes:
            return None
        return boxes[0] if len(boxes) == 1 else "[" + ", ".join(boxes) + "]"
    if kind == "gui":
        found = _JSON_OBJ_RE.findall(region) or _ACTION_RE.findall(region)
        return found[0].strip() if len(set(found)) == 1 else None
    # free text (OCR, open answers, short VQA)
    cand = phrases[-1] if phrases else region
    return cand if len(cand) <= MAX_TEXT_ANSWER else None


def extract(item: EvalItem, text: str) -> tuple[str | None, str, str]:
    """(prediction, method, why). Method ``box`` or ``rule``; ``none`` when neither applies."""
    region = answer_region(text)
    if not region:
        unclosed = THINK_OPEN in (text or "")
        why = "think block never closed (no answer)" if unclosed else "empty response"
        return None, "none", why
    found, rest = split_boxes(region)
    boxes = [b.strip() for b in found]
    if len(boxes) > 1:
        return None, "none", f"{len(boxes)} boxes (one final answer expected)"
    if len(boxes) == 1 and boxes[0]:
        return boxes[0], "box", ""
    pred = rule_parse(parser_kind(item), rest, item)
    if pred:
        return pred, "rule", ""
    return None, "none", "empty box" if boxes else "no box and no rule matched"


# -- verification --------------------------------------------------------------------------------


def _precise(pred: str, item: EvalItem) -> str:
    """MathVista-style numbers: drop the unit, round to the published precision."""
    from thinkvl.rewards.extract import parse_number

    unit = item.meta.get("unit")
    text = pred.strip()
    if unit and text.endswith(str(unit)):
        text = text[: -len(str(unit))].strip()
    parsed = parse_number(text)
    if parsed is None:
        return pred
    value = parsed[0]
    atype = item.meta.get("answer_type")
    if atype == "integer":
        return str(int(round(value))) if abs(value - round(value)) < 1e-9 else text
    precision = item.meta.get("precision")
    if atype == "float" and precision is not None:
        p = int(precision)
        return f"{round(value, p):.{p}f}"
    return text


def _reference(item: EvalItem) -> Any:
    meta = item.meta
    if item.family == NUMERIC and meta.get("answer_type") == "float" \
            and meta.get("precision") is not None:
        p = int(item.meta["precision"])
        try:
            return f"{round(float(item.answer), p):.{p}f}"
        except (TypeError, ValueError):
            return item.answer
    return item.answer


def verify_domain(item: EvalItem) -> str:
    return {CHOICE: "choice", NUMERIC: "math", OCR: "ocr"}.get(item.family, item.domain)


def verify_meta(item: EvalItem) -> dict[str, Any]:
    meta = dict(item.meta)
    if item.family == CHOICE or item.domain == "choice":
        opts = options_of(item)
        if opts:
            meta["options"] = opts
    return meta


_INVALID_FLAGS = {"unparsable", "empty_box", "no_box"}


class Scorer:
    """Extraction + reward-system verification, with an optional LLM parser for leftovers."""

    def __init__(self, rewards: Any = None, parser: Any = None, anls_threshold: float = 0.5,
                 judge_model: str | None = None) -> None:
        self._rewards = rewards
        self.parser = parser
        self.anls_threshold = anls_threshold
        self.judge_model = judge_model

    @classmethod
    def from_settings(cls, settings) -> "Scorer":
        """Build from ``ScoringSettings``: reward config (+ judge overrides) and the LLM parser."""
        from thinkvl.eval.judging import build_rewards

        rewards, judge_cfg = build_rewards(settings.rewards_config, settings.judge)
        parser = None
        if settings.llm_parser and judge_cfg is not None:
            from thinkvl.eval.judging import LLMParser

            parser = LLMParser(judge_cfg)
        return cls(rewards, parser, settings.anls_threshold,
                   judge_cfg.model if judge_cfg is not None else None)

    @property
    def rewards(self):
        if self._rewards is None:
            from thinkvl.eval.judging import build_rewards

            self._rewards, _ = build_rewards(None, {})
        return self._rewards

    def describe(self) -> dict[str, Any]:
        return {"judge": self.judge_model, "llm_parser": self.parser is not None,
                "anls_threshold": self.anls_threshold}

    def check_domains(self, items: list[EvalItem]) -> None:
        """Fail before any generation when an item's domain has no verifier configured."""
        unknown = set()
        for domain in {verify_domain(it) for it in items}:
            try:
                self.rewards.resolve_domain(domain)
            except ValueError:
                unknown.add(domain)
        if unknown:
            raise ValueError(f"no reward verifier for domain(s) {', '.join(sorted(unknown))}; "
                             f"add them under `domains:` (or `aliases:`) of a reward config and "
                             f"pass it as scoring.rewards_config")

    def score(self, item: EvalItem, text: str, truncated: bool = False) -> Scored:
        return self.score_many([(item, text, truncated)])[0]

    def score_many(self, batch: list[tuple[EvalItem, str, bool]]) -> list[Scored]:
        extracted = [extract(item, text) for item, text, _ in batch]
        self._llm_parse(batch, extracted)
        todo = [i for i, (pred, _, _) in enumerate(extracted) if pred]
        for i in todo:
            item = batch[i][0]
            if item.family == NUMERIC:
                extracted[i] = (_precise(extracted[i][0], item), *extracted[i][1:])
        results = self._verify([batch[i][0] for i in todo], [extracted[i][0] for i in todo])
        verdicts = dict(zip(todo, results))
        out = []
        for i, ((item, text, truncated), (pred, method, why)) in enumerate(zip(batch, extracted)):
            flags = {"truncated"} if truncated else set()
            if i not in verdicts:
                failed = why.startswith("llm parser failed")
                if failed:
                    flags.add("judge_failed")
                out.append(Scored(None, method, 0.0, False, True, False, failed, why, flags))
                continue
            r = verdicts[i]
            score = float(r.score)
            if item.family == OCR and score < self.anls_threshold:
                score = 0.0
            rflags = set(r.flags)
            judge_failed = bool(getattr(r, "missing", False)) or "judge_failed" in rflags
            out.append(Scored(pred, method, score, bool(r.correct),
                              invalid=bool(rflags & _INVALID_FLAGS),
                              missing=bool(getattr(r, "missing", False)),
                              judge_failed=judge_failed, reason=str(r.reason),
                              flags=flags | rflags))
        return out

    def _llm_parse(self, batch, extracted) -> None:
        """Fill in predictions the box and the rules could not find (the LLM parser)."""
        if self.parser is None:
            return
        todo = [i for i, (pred, method, why) in enumerate(extracted)
                if pred is None and answer_region(batch[i][1]) and "boxes" not in why]
        if not todo:
            return
        answers = self.parser.parse_many([(batch[i][0], answer_region(batch[i][1])) for i in todo])
        for i, (answer, error) in zip(todo, answers):
            if error:
                extracted[i] = (None, "none", f"llm parser failed: {error}")
            elif answer:
                extracted[i] = (answer, "llm", "")
            else:
                extracted[i] = (None, "none", "no answer (llm parser found none)")

    def _verify(self, items: list[EvalItem], preds: list[str]) -> list[Any]:
        if not items:
            return []
        rs = self.rewards
        jobs = [dict(response=make_response(p), answer=_reference(it), domain=verify_domain(it),
                     question=it.question or None, meta=verify_meta(it))
                for it, p in zip(items, preds)]
        return rs.score_batch(jobs)

    def close(self) -> None:
        rs = self._rewards
        if rs is not None and hasattr(rs, "close"):
            rs.close()
