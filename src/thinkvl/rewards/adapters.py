"""thinkvl's reward system behind other trainers' reward signatures: TRL and verl.

DESIGN promises the reward system as a plain library any trainer can call (it imports no torch).
These adapters translate the two most used call signatures into ``RewardSystem.score_batch``:

* ``TRLReward`` — a ``GRPOTrainer`` reward function (TRL ≥ 1.16): called as
  ``reward_func(prompts=…, completions=…, completion_ids=…, **columns)`` where ``columns`` holds
  every other dataset column as a list (one value per completion) plus TRL's ``trainer_state``,
  ``log_extra`` and ``log_metric``; returns one float per completion, or ``None`` for a missing
  judgement (TRL ≥ 1.16 leaves such a completion out of its group's baseline and gives it no
  advantage — the same rule as thinkvl's trainer).
* ``compute_score`` / ``compute_score_batch`` — verl's custom reward function, as its
  ``NaiveRewardManager`` calls it (``compute_score(data_source=, solution_str=, ground_truth=,
  extra_info=, **reward_kwargs)``, one response at a time) and as its ``BatchRewardManager`` does
  (``compute_score(data_sources=, solution_strs=, ground_truths=, extra_infos=, **reward_kwargs)``).
  Each returns verl's dict form: ``score`` plus keys verl collects into ``reward_extra_info``.
  verl has no missing rewards: a failed judgement scores 0 there, marked ``judge_failed = 1``.

**Protocol markers and special tokens.** TRL and verl decode completions with
``skip_special_tokens=True``. Where ``<think>``, ``<answer>`` and the box markers are special
tokens (thinkvl's tiny tokenizer; check yours), that removes them before the reward sees the
text, and every response fails format validation. ``TRLReward`` therefore re-decodes TRL's
``completion_ids`` itself when given the tokenizer (markers kept, the end-of-turn token dropped).
verl hands ``compute_score`` text only: there the markers must not be special tokens
(``thinkvl.model.tokenizer.markers_not_special``); a response without any marker triggers one
warning that names this cause.
"""

from __future__ import annotations

import json
import warnings
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from thinkvl.format import PROTOCOL_MARKERS
from thinkvl.rewards.result import RewardResult  # absolute: verl may load this file by its path
from thinkvl.rewards.system import RewardSystem

MARKERS_STRIPPED = (
    "thinkvl rewards: a response holds none of the protocol markers ({markers}). {trainer} decodes "
    "completions with skip_special_tokens=True, which removes markers that are special tokens of the "
    "tokenizer, so every such response fails format validation. {fix}")
_warned: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, stacklevel=3)


def _has_marker(text: str) -> bool:
    return any(m in text for m in PROTOCOL_MARKERS)


def _plain(value: Any) -> Any:
    """A ground truth as the reward system expects it: numpy arrays (verl's object columns,
    Arrow list columns) become lists, recursively; everything else is kept."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _meta(value: Any) -> dict:
    if value is None:
        return {}
    if isinstance(value, str):  # a JSON column (Arrow cannot hold free-form dicts of mixed types)
        value = json.loads(value) if value.strip() else {}
    if not isinstance(value, Mapping):
        raise TypeError(f"reward meta must be a dict or a JSON object string, got {type(value).__name__}")
    return dict(value)


def extra_metrics(results: Sequence[RewardResult]) -> dict[str, float]:
    """Accuracy (judged responses only), format-error rate and judge failures, overall and per
    domain — what thinkvl's own trainer logs, for a trainer's metric sink."""
    out: dict[str, float] = {}
    by: dict[str, list[RewardResult]] = defaultdict(list)
    for r in results:
        by[""].append(r)
        by[r.domain].append(r)
    for domain, rs in sorted(by.items()):
        prefix = f"{domain}/" if domain else ""
        judged = [r for r in rs if not r.missing]
        out[f"{prefix}accuracy"] = sum(r.correct for r in judged) / len(judged) if judged else 0.0
        out[f"{prefix}format_error_rate"] = sum("format_error" in r.flags for r in rs) / len(rs)
        out[f"{prefix}judge_failures"] = float(len(rs) - len(judged))
    return out


# --- TRL ----------------------------------------------------------------------------------------
class TRLReward:
    """A TRL ``GRPOTrainer`` reward function backed by a ``RewardSystem``.

        reward = TRLReward(RewardSystem(), tokenizer=processor.tokenizer)
        GRPOTrainer(model=…, reward_funcs=[reward], train_dataset=ds, …)

    The dataset needs an answer column and a domain column (names configurable; ``domain=`` may
    instead fix one domain for every row); a ``question`` column is passed to judges and guards
    and a ``meta`` column (dict or JSON text) to verifiers when present. Answers of mixed types
    (an integer count, a list of boxes) cannot share an Arrow column: store them as JSON text and
    set ``json_answers=True``.

    ``tokenizer``: decode ``completion_ids`` here with the markers kept (see the module notes);
    without it TRL's decoded text is scored as given. ``stop_ids``: tokens dropped from the end of
    a completion before decoding (default: the tokenizer's special tokens that are not protocol
    markers — the end-of-turn / end-of-text token TRL keeps in ``completion_ids``).
    """

    __name__ = "thinkvl"  # TRL's name for this reward in its logs (rewards/thinkvl/mean)

    def __init__(self, rewards: RewardSystem | None = None, *, tokenizer: Any = None,
                 answer: str = "answer", domain: str = "domain", question: str = "question",
                 meta: str = "meta", json_answers: bool = False, stop_ids: Sequence[int] | None = None,
                 log_metrics: bool = True) -> None:
        self.rewards = rewards or RewardSystem()
        self.tokenizer = tokenizer
        self.keys = {"answer": answer, "domain": domain, "question": question, "meta": meta}
        self.json_answers = json_answers
        self.log_metrics = log_metrics
        self.stop_ids = set(stop_ids) if stop_ids is not None else self._default_stop_ids(tokenizer)
        self.last_results: list[RewardResult] = []  # the latest call's full results (inspection)

    @staticmethod
    def _default_stop_ids(tokenizer: Any) -> set[int]:
        if tokenizer is None:
            return set()
        tokenizer = getattr(tokenizer, "tokenizer", tokenizer)  # a processor holds its tokenizer
        markers = set(tokenizer.convert_tokens_to_ids(list(PROTOCOL_MARKERS)))
        return set(tokenizer.all_special_ids) - markers

    def texts(self, completions: Sequence[Any], completion_ids: Sequence[Sequence[int]] | None) -> list[str]:
        """Each completion's text, protocol markers kept (see the class notes)."""
        if self.tokenizer is not None and completion_ids is not None:
            tokenizer = getattr(self.tokenizer, "tokenizer", self.tokenizer)
            out = []
            for ids in completion_ids:
                ids = list(ids)
                while ids and ids[-1] in self.stop_ids:
                    ids.pop()
                out.append(tokenizer.decode(ids, skip_special_tokens=False))
            return out
        # conversational completions: [{"role": "assistant", "content": text}]; plain: text
        return [c[-1]["content"] if isinstance(c, list) else str(c) for c in completions]

    def _column(self, kwargs: Mapping[str, Any], name: str, n: int, required: bool) -> list:
        key = self.keys[name]
        if key in kwargs and kwargs[key] is not None:
            values = list(kwargs[key])
            if len(values) != n:
                raise ValueError(f"TRLReward: column {key!r} has {len(values)} values for {n} completions")
            return values
        if name == "domain" and key not in kwargs and key in self.rewards.domains:
            return [key] * n  # domain="counting": one domain for the whole dataset
        if required:
            columns = sorted(k for k in kwargs if k not in ("trainer_state", "log_extra", "log_metric",
                                                            "environments"))
            raise KeyError(f"TRLReward needs a dataset column {key!r} ({name}); TRL passed the columns "
                           f"{columns}. Add it to the dataset or name the right one: TRLReward({name}=…)")
        return [None] * n

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any],
                 completion_ids: Sequence[Sequence[int]] | None = None, **kwargs: Any) -> list[float | None]:
        n = len(completions)
        texts = self.texts(completions, completion_ids)
        if self.tokenizer is None and texts and not any(map(_has_marker, texts)):
            _warn_once("trl", MARKERS_STRIPPED.format(
                markers=", ".join(PROTOCOL_MARKERS), trainer="TRL",
                fix="Pass the tokenizer (TRLReward(tokenizer=processor.tokenizer)) so the adapter "
                    "decodes completion_ids with the markers kept."))
        answers = self._column(kwargs, "answer", n, True)
        if self.json_answers:
            answers = [json.loads(a) if isinstance(a, str) else a for a in answers]
        domains = self._column(kwargs, "domain", n, True)
        questions = self._column(kwargs, "question", n, False)
        metas = self._column(kwargs, "meta", n, False)
        items = [{"response": t, "answer": _plain(a), "domain": d, "question": q, "meta": _meta(m)}
                 for t, a, d, q, m in zip(texts, answers, domains, questions, metas, strict=True)]
        self.last_results = self.rewards.score_batch(items)
        log_metric: Callable[[str, float], None] | None = kwargs.get("log_metric")
        if self.log_metrics and log_metric is not None:
            for name, value in extra_metrics(self.last_results).items():
                log_metric(f"thinkvl/{name}", value)
        return [r.reward for r in self.last_results]


# --- verl ---------------------------------------------------------------------------------------
_systems: dict[str | None, RewardSystem] = {}


def _system(config: str | None) -> RewardSystem:
    """One reward system per configuration file per process (verl calls compute_score per item)."""
    if config not in _systems:
        _systems[config] = RewardSystem.from_yaml(config) if config else RewardSystem()
    return _systems[config]


def _verl_item(rewards: RewardSystem, data_source: Any, solution_str: str, ground_truth: Any,
               extra_info: Mapping[str, Any] | None) -> dict:
    extra = dict(extra_info or {})
    domain = extra.get("domain") or data_source  # a verl data_source may name the domain (aliases apply)
    if domain is None:
        raise ValueError("compute_score needs the domain: a data_source thinkvl's reward config knows "
                         "(or an alias of one), or extra_info['domain']")
    return {"response": solution_str, "answer": _plain(ground_truth), "domain": str(domain),
            "question": extra.get("question"), "meta": _meta(extra.get("meta"))}


def _verl_result(r: RewardResult) -> dict[str, float]:
    """verl's dict form: ``score`` is the reward; the other keys (the same for every response, as
    verl stacks them into ``reward_extra_info`` columns) say why."""
    return {"score": 0.0 if r.missing else float(r.score), "acc": float(bool(r.correct) and not r.missing),
            "format_error": float("format_error" in r.flags), "judge_failed": float(r.missing)}


def _check_markers(texts: Sequence[str]) -> None:
    if texts and not any(map(_has_marker, texts)):
        _warn_once("verl", MARKERS_STRIPPED.format(
            markers=", ".join(PROTOCOL_MARKERS), trainer="verl's reward managers",
            fix="Make the markers ordinary added tokens of the tokenizer "
                "(thinkvl.model.tokenizer.markers_not_special) before training with verl."))


def compute_score(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Mapping | None = None,
                  config: str | None = None, **_: Any) -> dict[str, float]:
    """verl's per-response custom reward function (``NaiveRewardManager``, the reward loop).

    verl config: ``custom_reward_function.path=pkg://thinkvl.rewards.adapters`` (or this file's
    path), ``custom_reward_function.name=compute_score`` and, for a reward YAML,
    ``+custom_reward_function.reward_kwargs.config=rewards.yaml``. Other keyword arguments verl
    adds (``reward_router_address``, …) are ignored."""
    _check_markers([solution_str])
    rewards = _system(config)
    return _verl_result(rewards.score_batch([_verl_item(rewards, data_source, solution_str, ground_truth,
                                                        extra_info)])[0])


def compute_score_batch(data_sources: Sequence[Any], solution_strs: Sequence[str], ground_truths: Sequence[Any],
                        extra_infos: Sequence[Mapping | None] | None = None, config: str | None = None,
                        **_: Any) -> list[dict[str, float]]:
    """verl's batched custom reward function (``reward_model.reward_manager=batch``): one
    ``score_batch`` call for the whole batch, so math verification and judge calls are batched."""
    n = len(solution_strs)
    extra_infos = list(extra_infos) if extra_infos is not None else [None] * n
    if not len(data_sources) == len(ground_truths) == len(extra_infos) == n:
        raise ValueError(f"compute_score_batch: {len(data_sources)} data sources, {n} responses, "
                         f"{len(ground_truths)} ground truths and {len(extra_infos)} extra infos; "
                         "expected one of each per response")
    _check_markers(solution_strs)
    rewards = _system(config)
    items = [_verl_item(rewards, *row) for row in zip(data_sources, solution_strs, ground_truths, extra_infos)]
    return [_verl_result(r) for r in rewards.score_batch(items)]
