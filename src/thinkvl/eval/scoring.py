"""Score a response: extract one prediction, then score it by the benchmark's official metric
(or, for thinkvl records, the reward system's domain verifier).

Extraction order (never a random guess; an empty or missing prediction scores 0 and counts as
*invalid*):
  1. the box: the single ``<|begin_of_box|>…<|end_of_box|>`` of the answer (after ``</think>``);
  2. rule-based extraction over the answer text only — the benchmark's own parser where it
     publishes one (MMMU, MathVista, OCRBench …), else the rules per answer type of
     :mod:`thinkvl.eval.parsing`; a think block that never closed has no answer, and free text
     the rules cannot settle is *not* handed on as an answer;
  3. the LLM parser (the judge endpoint, cached) only when both fail.
The prediction is then scored: by the official metric (which may hand it to a reward verifier —
symbolic maths, exact-then-judge — or to the graded judge), or wrapped in a canonical response
and scored by ``RewardSystem`` under the family's domain. Every sample records how its answer
was found (``method``), and whether it was invalid, truncated, or its judgement failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from thinkvl.eval.benchmarks import CHOICE, GROUNDING, GUI, NATIVE, NUMERIC, OCR, OPEN, EvalItem
from thinkvl.eval.metrics import Verdict, get_metric, options_of
from thinkvl.eval.parsing import rule_parse
from thinkvl.format import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    BOX_CLOSE,
    BOX_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
    make_response,
    split_boxes,
    strip_markers,
)


# Which rule parser reads free text, per family (NATIVE: per domain).
_PARSER_BY_FAMILY = {CHOICE: "choice", NUMERIC: "number", OCR: "whole", GROUNDING: "grounding",
                     GUI: "gui", OPEN: "text"}
_PARSER_BY_DOMAIN = {"choice": "choice", "counting": "number", "math": "number",
                     "grounding": "grounding", "gui": "gui"}
_INVALID_FLAGS = {"unparsable", "empty_box", "no_box"}


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


def _numeric_reference(item: EvalItem) -> bool:
    from thinkvl.rewards.extract import parse_number

    ans = item.answer
    return isinstance(ans, (int, float)) and not isinstance(ans, bool) or (
        isinstance(ans, str) and parse_number(ans) is not None)


def free_text_rule(item: EvalItem, region: str) -> str | None:
    """The rules for one item: its official metric's parser, else the rules of its answer type
    (a text item whose reference is a number is read as a number)."""
    if item.metric:
        return get_metric(item.metric).parse(item, region)
    kind = parser_kind(item)
    if kind == "text" and _numeric_reference(item):
        kind = "number"
    return rule_parse(kind, region, options_of(item) if kind == "choice" else None)


def extract(item: EvalItem, text: str) -> tuple[str | None, str, str]:
    """(prediction, method, why). Method ``box`` or ``rule``; ``none`` when neither applies."""
    region = answer_region(text)
    if not region:
        unclosed = THINK_OPEN in (text or "")
        why = "think block never closed (no answer)" if unclosed else "empty response"
        return None, "none", why
    found, rest = split_boxes(region)  # linear time, whatever the model repeated
    boxes = [b.strip() for b in found]
    if len(boxes) > 1:
        return None, "none", f"{len(boxes)} boxes (one final answer expected)"
    if len(boxes) == 1 and boxes[0]:
        return boxes[0], "box", ""
    rest = strip_markers(rest) if BOX_OPEN in rest or BOX_CLOSE in rest else rest.strip()
    pred = free_text_rule(item, rest) if rest else None
    if pred:
        return pred, "rule", ""
    if boxes:
        return None, "none", "empty box"
    return None, "none", "no box, and the rules found no settled answer"


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


# Reward domains an official metric may hand an answer to (see Verdict.verify).
METRIC_DOMAINS = ("math", "vqa", "video", "chart")


class Scorer:
    """Extraction + official metrics / reward-system verification, with an optional LLM
    parser for leftovers and a graded judge for metrics scored on a scale."""

    def __init__(self, rewards: Any = None, parser: Any = None, anls_threshold: float = 0.5,
                 judge_model: str | None = None, grader: Any = None) -> None:
        self._rewards = rewards
        self.parser = parser
        self.grader = grader
        self.anls_threshold = anls_threshold
        self.judge_model = judge_model

    @classmethod
    def from_settings(cls, settings) -> Scorer:
        """Build from ``ScoringSettings``: reward config (+ judge overrides) and the LLM parser."""
        from thinkvl.eval.judging import Grader, LLMParser, build_rewards

        rewards, judge_cfg = build_rewards(settings.rewards_config, settings.judge)
        parser = LLMParser(judge_cfg) if settings.llm_parser and judge_cfg is not None else None
        grader = Grader(judge_cfg) if judge_cfg is not None else None
        return cls(rewards, parser, settings.anls_threshold,
                   judge_cfg.model if judge_cfg is not None else None, grader)

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
        """Fail before any generation when an item's metric is unknown or its domain has no
        verifier configured."""
        domains, metrics = set(), set()
        for it in items:
            if it.metric:
                metrics.add(it.metric)
            else:
                domains.add(verify_domain(it))
        for name in metrics:
            get_metric(name)
        if metrics:
            domains |= set(METRIC_DOMAINS)
        unknown = set()
        for domain in domains:
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
        out: list[Scored | None] = [None] * len(batch)
        native, official = [], []
        for i, ((item, _, truncated), (pred, method, why)) in enumerate(zip(batch, extracted)):
            flags = {"truncated"} if truncated else set()
            if pred is None:
                failed = why.startswith("llm parser failed")
                if failed:
                    flags.add("judge_failed")
                out[i] = Scored(None, method, 0.0, False, True, False, failed, why, flags)
            elif item.metric:
                official.append(i)
            else:
                native.append(i)
        self._score_official(batch, extracted, official, out)
        self._score_native(batch, extracted, native, out)
        return out  # type: ignore[return-value]

    # -- official metrics ------------------------------------------------------------------------

    def _score_official(self, batch, extracted, todo: list[int], out: list) -> None:
        verdicts: dict[int, Verdict] = {}
        for i in todo:
            item, pred = batch[i][0], extracted[i][0]
            verdicts[i] = get_metric(item.metric).score(item, pred)
        graded = [i for i in todo if verdicts[i].grade]
        deferred = [i for i in todo if verdicts[i].verify and not verdicts[i].grade]
        grades = self._grade([(batch[i][0], extracted[i][0]) for i in graded])
        results = self._verify_jobs([
            {"response": make_response(extracted[i][0]), "domain": verdicts[i].verify,
             "answer": verdicts[i].reference if verdicts[i].reference is not None
             else batch[i][0].answer, "question": batch[i][0].question or None, "meta": {}}
            for i in deferred])
        for i, r in zip(deferred, results):
            v = verdicts[i]
            verdicts[i] = Verdict(float(r.score), bool(r.correct), f"{v.reason}; {r.reason}",
                                  tuple(v.flags) + tuple(r.flags),
                                  missing=bool(getattr(r, "missing", False)))
        for i, g in zip(graded, grades):
            v = verdicts[i]
            if g is None:  # no grader configured: the rule score stands, flagged
                verdicts[i] = Verdict(v.score, v.correct, v.reason or "no judge (rules only)",
                                      tuple(v.flags) + ("rules_only",))
            elif g[1] is not None:
                verdicts[i] = Verdict(0.0, False, f"judge failed: {g[1]}",
                                      tuple(v.flags) + ("judge_failed",), missing=True)
            else:
                verdicts[i] = Verdict(g[0], g[0] >= 1.0, f"graded {g[0]:.1f}",
                                      tuple(v.flags) + ("judged",))
        for i in todo:
            v, (pred, method, _) = verdicts[i], extracted[i]
            flags = set(v.flags) | ({"truncated"} if batch[i][2] else set())
            out[i] = Scored(pred, method, 0.0 if v.missing else v.score,
                            v.correct and not v.missing, invalid=bool(flags & _INVALID_FLAGS),
                            missing=v.missing, judge_failed=v.missing or "judge_failed" in flags,
                            reason=v.reason, flags=flags)

    def _grade(self, jobs: list[tuple[EvalItem, str]]):
        if not jobs:
            return []
        if self.grader is None:
            return [None] * len(jobs)
        return self.grader.grade_many(jobs)

    # -- thinkvl records: the reward system ------------------------------------------------------

    def _score_native(self, batch, extracted, todo: list[int], out: list) -> None:
        for i in todo:
            item = batch[i][0]
            if item.family == NUMERIC:
                extracted[i] = (_precise(extracted[i][0], item), *extracted[i][1:])
        results = self._verify_jobs([
            {"response": make_response(extracted[i][0]), "answer": _reference(batch[i][0]),
             "domain": verify_domain(batch[i][0]), "question": batch[i][0].question or None,
             "meta": verify_meta(batch[i][0])} for i in todo])
        for i, r in zip(todo, results):
            item, (pred, method, _) = batch[i][0], extracted[i]
            score = float(r.score)
            if item.family == OCR and score < self.anls_threshold:
                score = 0.0
            rflags = set(r.flags)
            judge_failed = bool(getattr(r, "missing", False)) or "judge_failed" in rflags
            out[i] = Scored(pred, method, score, bool(r.correct),
                            invalid=bool(rflags & _INVALID_FLAGS),
                            missing=bool(getattr(r, "missing", False)),
                            judge_failed=judge_failed, reason=str(r.reason),
                            flags=({"truncated"} if batch[i][2] else set()) | rflags)

    def _verify_jobs(self, jobs: list[dict]) -> list[Any]:
        return self.rewards.score_batch(jobs) if jobs else []

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

    def close(self) -> None:
        rs = self._rewards
        if rs is not None and hasattr(rs, "close"):
            rs.close()
