"""The reward router: format check → box → guards → domain verifier → penalties, batched.

One call path serves a single ``score`` and a mixed-domain ``score_batch``: verifiers return
either a decision or deferred work (symbolic math, judge calls) that the batch resolves in bulk
— math in the worker pool, judge calls concurrently — before results are finalised.

Every item's rule stage runs under ``limits.item_timeout_s`` (see :mod:`.deadline`): an item
over it scores 0 with the ``timeout`` flag, and an unexpected error in one item scores that
item 0 (``verifier_error``) instead of failing the batch — a training step never stalls or dies
on one response.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thinkvl.config import ConfigError
from thinkvl.format import BOX_OPEN, parse_response

from . import config as C
from . import guards as G
from . import result as R
from .deadline import Deadline, ItemTimeout
from .judge import Judge, JudgeClient, JudgeVerdict
from .result import Deferred, Outcome, RewardResult
from .stats import Stats
from .verifiers import Ctx, Verifier, get_family
from .verifiers.math import MathEngine

_TRUNCATION_PROBLEMS = {"unclosed_think", "unclosed_answer", "unclosed_box"}


@dataclass(slots=True)
class _Domain:
    name: str
    verifier: Verifier
    guards: G.BoxGuards
    language: bool
    use_judge: bool


@dataclass(slots=True)
class _Work:
    """An item between its rule stage and its final result."""

    domain: str
    verifier: str
    flags: set[str]
    factor: float
    notes: str
    result: RewardResult | None = None
    deferred: Deferred | None = None


class RewardSystem:
    """Score responses for any configured domain. ``RewardSystem()`` uses the default config.

    ``judge`` replaces the configured judge (tests, the audit's gullible stub, custom backends).
    """

    def __init__(
        self,
        config: C.RewardConfig | Mapping[str, Any] | None = None,
        *,
        judge: Judge | None = None,
    ) -> None:
        if config is None:
            config = C.default_config()
        elif not isinstance(config, C.RewardConfig):
            config = C.build(dict(config))
        self.config = config
        m = config.math
        self.math = MathEngine(m.timeout_s, m.workers, m.memory_mb, m.rel_tol, m.cache_size)
        self.judge: Judge | None = judge
        if judge is None and config.judge.enabled:
            try:
                self.judge = JudgeClient(config.judge)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        self.stats = Stats()
        self._allow = frozenset(config.format.allow)
        self._domains = {name: self._build_domain(name) for name in config.domains}

    @classmethod
    def from_yaml(cls, path: str | Path, *, judge: Judge | None = None) -> RewardSystem:
        return cls(C.load(path), judge=judge)

    def _build_domain(self, name: str) -> _Domain:
        dc = self.config.domains[name]
        try:
            family = get_family(dc.verifier)
            options = family.Options.model_validate(dc.options)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"domains.{name}: {exc}") from None
        guard_cfg = self.config.guards_for(name)
        return _Domain(
            name,
            family(options, self),
            G.BoxGuards(guard_cfg),
            guard_cfg.language,
            dc.judge and self.judge is not None,
        )

    # ------------------------------------------------------------------ public API
    @property
    def domains(self) -> list[str]:
        return list(self._domains)

    def resolve_domain(self, domain: str) -> str:
        """The configured domain for ``domain`` (case-insensitive, aliases applied)."""
        key = str(domain).strip().lower()
        key = self.config.aliases.get(key, key)
        if key not in self._domains:
            known = ", ".join(sorted(self._domains))
            raise ValueError(
                f"unknown reward domain {domain!r}; configured domains: {known} "
                "(add it under `domains:` or `aliases:` in the reward config)"
            )
        return key

    def score(
        self,
        response: str,
        answer: Any,
        domain: str,
        question: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> RewardResult:
        """Score one response against its ground truth."""
        return self.score_batch(
            [
                {
                    "response": response,
                    "answer": answer,
                    "domain": domain,
                    "question": question,
                    "meta": meta,
                }
            ]
        )[0]

    def score_batch(self, items: Iterable[Mapping[str, Any]]) -> list[RewardResult]:
        """Score many items of mixed domains; symbolic math and judge calls are batched."""
        works = self._stage_all(items)
        maths, judges = _pending(works)
        if maths:
            self._finish(maths, self._math_results(maths))
        if judges:
            self._finish(judges, self._judge_results_sync(judges))
        return self._collect(works)

    async def score_batch_async(self, items: Iterable[Mapping[str, Any]]) -> list[RewardResult]:
        """Like ``score_batch``, awaiting judge calls concurrently (judge-heavy batches)."""
        works = self._stage_all(items)
        maths, judges = _pending(works)
        math_res, judge_res = await asyncio.gather(
            asyncio.to_thread(self._math_results, maths), self._judge_results_async(judges)
        )
        self._finish(maths, math_res)
        self._finish(judges, judge_res)
        return self._collect(works)

    def warmup(self) -> None:
        """Start the math workers now rather than on the first symbolic item."""
        self.math.pool.verify_many([("1", "1")])

    def close(self) -> None:
        self.math.close()

    def __enter__(self) -> RewardSystem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def summary(self) -> dict[str, Any]:
        """Per-domain statistics plus math and judge counters."""
        out: dict[str, Any] = {"domains": self.stats.summary(), "math": dict(self.math.counts)}
        out["limits"] = {"item_timeout_s": self.config.limits.item_timeout_s, **self.stats.timing()}
        out["math"]["worker_restarts"] = self.math.pool.restarts
        counts = getattr(self.judge, "counts", None)
        if counts is not None:
            out["judge"] = dict(counts)
        return out

    # ------------------------------------------------------------------ stage 1: rules
    def _stage_all(self, items: Iterable[Mapping[str, Any]]) -> list[_Work]:
        with Deadline(self.config.limits.item_timeout_s) as deadline:
            return [self._stage(i, item, deadline) for i, item in enumerate(items)]

    def _stage(self, index: int, item: Mapping[str, Any], deadline: Deadline) -> _Work:
        try:
            response, answer, domain = item["response"], item["answer"], item["domain"]
        except KeyError as exc:
            raise ValueError(
                f"item {index}: missing key {exc.args[0]!r} (items need response, answer, domain)"
            ) from None
        question = item.get("question")
        meta = item.get("meta") or {}
        dom = self._domains[self.resolve_domain(domain)]
        limit = deadline.seconds
        start = time.perf_counter()
        work: _Work | None = None
        try:
            with deadline.item():
                work = self._rules(
                    dom,
                    response,
                    answer,
                    question if isinstance(question, str) else None,
                    meta if isinstance(meta, dict) else {},
                )
        except ItemTimeout:
            pass
        except Exception as exc:  # noqa: BLE001 - one bad item must not stop a training step
            work = self._early(
                _Work(dom.name, dom.verifier.name, {"verifier_error"}, 1.0, ""),
                f"scoring failed: {type(exc).__name__}: {str(exc)[:200]}",
            )
        elapsed = time.perf_counter() - start
        self.stats.add_time(elapsed)
        if work is None or elapsed > limit:  # interrupted, or measured over (off the main thread)
            self.stats.timeouts += 1
            work = self._early(
                _Work(dom.name, dom.verifier.name, {R.TIMEOUT}, 1.0, ""),
                f"over the {limit:g}s per-item limit ({elapsed:.2f}s); scored 0",
            )
        return work

    def _rules(
        self, dom: _Domain, response: Any, answer: Any, question: str | None, meta: dict[str, Any]
    ) -> _Work:
        vname = dom.verifier.name
        work = _Work(dom.name, vname, set(), 1.0, "")
        if not isinstance(response, str):
            response = ""
        parsed = parse_response(response)
        problems = set(parsed.problems)
        if problems & _TRUNCATION_PROBLEMS or _truncated_meta(meta):
            work.flags.add(R.TRUNCATED)
        bad = problems - self._allow
        if bad or parsed.box is None:
            work.flags |= {R.FORMAT_ERROR, *bad}
            hint = (
                " (\\boxed{} is not accepted; use the box tokens)"
                if "\\boxed" in (parsed.answer or "") and BOX_OPEN not in (parsed.answer or "")
                else ""
            )
            return self._early(work, f"format: {', '.join(sorted(bad)) or 'no box'}{hint}")
        box = parsed.box
        if not box:
            work.flags.add(R.EMPTY_BOX)
            return self._early(work, "empty box")
        ref = dom.verifier.reference_text(answer)
        allowed = G.allowed_scripts(response, question, ref) if dom.language else None
        hit = dom.guards.check(box, parsed.answer or "", ref, question, allowed)
        if hit is not None:
            work.flags.add(hit[0])
            return self._early(work, hit[1], box)
        self._penalties(work, parsed.think or "", parsed.answer or "", allowed)
        ctx = Ctx(dom.name, question, meta, dom.use_judge)
        try:
            out = dom.verifier.check(box, answer, ctx)
        except Exception as exc:  # noqa: BLE001 - one bad item must not stop a training step
            work.flags.add("verifier_error")
            return self._early(work, f"verifier {vname} failed: {type(exc).__name__}: {exc}", box)
        if isinstance(out, Deferred):
            work.deferred = out
        else:
            work.result = self._final(work, out)
        return work

    def _early(self, work: _Work, reason: str, extracted: Any = None) -> _Work:
        work.result = RewardResult(
            0.0, False, extracted, work.verifier, reason, work.flags, False, work.domain
        )
        return work

    def _penalties(self, work: _Work, think: str, answer: str, allowed: set[str] | None) -> None:
        pen = self.config.penalties
        if (
            allowed is not None
            and pen.language_mix > 0
            and G.foreign_chars(think + answer, allowed) >= pen.language_min_chars
        ):
            work.flags.add(R.LANGUAGE_MIX)
            work.factor *= 1.0 - pen.language_mix
            work.notes += f"; language mix penalty {pen.language_mix:g}"
        if pen.repetition > 0 and (G.repetitive(think, pen) or G.repetitive(answer, pen)):
            work.flags.add(R.REPETITION)
            work.factor *= 1.0 - pen.repetition
            work.notes += f"; repetition penalty {pen.repetition:g}"

    def _final(self, work: _Work, out: Outcome) -> RewardResult:
        raw = float(out.score)
        if not 0.0 <= raw <= 1.0:  # NaN included: a broken verifier is reported, never clamped
            work.flags.add("verifier_error")
            reason = f"verifier {work.verifier} scored {raw!r}, outside [0, 1]"
            return self._early(work, reason, out.extracted).result
        score = raw * work.factor
        flags = work.flags | set(out.flags) if out.flags else work.flags
        correct = bool(out.correct) and work.factor == 1.0 and score > 0
        if out.correct and not correct:
            flags = flags | {R.PENALIZED}  # right answer, reward taken: not a pass (issue 20)
        return RewardResult(
            score,
            correct,
            out.extracted,
            work.verifier,
            out.reason + work.notes,
            flags,
            out.missing,
            work.domain,
        )

    # ------------------------------------------------------------------ stage 2: batched work
    def _math_results(self, works: list[_Work]) -> list[list[Any]]:
        """One list of verdicts per work item (each may hold several reference alternatives)."""
        if not works:
            return []
        pairs = [p for w in works for p in w.deferred.payload]  # type: ignore[union-attr]
        flat = self.math.verify_many(pairs)
        out, k = [], 0
        for w in works:
            n = len(w.deferred.payload)  # type: ignore[union-attr]
            out.append(flat[k : k + n])
            k += n
        return out

    def _judge_results_sync(self, works: list[_Work]) -> list[JudgeVerdict]:
        reqs = [w.deferred.payload for w in works]  # type: ignore[union-attr]
        return _safe_judge(lambda: self.judge.judge_many(reqs), len(reqs))  # type: ignore[union-attr]

    async def _judge_results_async(self, works: list[_Work]) -> list[JudgeVerdict]:
        if not works:
            return []
        reqs = [w.deferred.payload for w in works]  # type: ignore[union-attr]
        try:
            return await self.judge.ajudge_many(reqs)  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001
            return [JudgeVerdict(error=f"judge crashed: {exc}")] * len(reqs)

    def _finish(self, works: list[_Work], outputs: list[Any]) -> None:
        for w, value in zip(works, outputs):
            w.result = self._final(w, w.deferred.finish(value))  # type: ignore[union-attr]

    def _collect(self, works: list[_Work]) -> list[RewardResult]:
        out = [w.result for w in works]
        self.stats.add_many(out)  # type: ignore[arg-type]
        return out  # type: ignore[return-value]


def _pending(works: list[_Work]) -> tuple[list[_Work], list[_Work]]:
    maths: list[_Work] = []
    judges: list[_Work] = []
    for w in works:
        if w.result is None and w.deferred is not None:
            (maths if w.deferred.kind == "math" else judges).append(w)
    return maths, judges


def _truncated_meta(meta: dict[str, Any]) -> bool:
    return (
        bool(meta.get("truncated"))
        or meta.get("finish_reason") == "length"
        or meta.get("stop_reason") == "length"
    )


def _safe_judge(call: Any, n: int) -> list[JudgeVerdict]:
    try:
        res = call()
        if len(res) != n:
            raise RuntimeError(f"judge returned {len(res)} verdicts for {n} requests")
        return res
    except Exception as exc:  # noqa: BLE001 - a crashed judge is a failed (missing) judgement
        return [JudgeVerdict(error=f"judge crashed: {exc}")] * n
