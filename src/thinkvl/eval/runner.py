"""Run an evaluation: prompts → backend → append-only predictions → scores → metrics.

``evaluate`` is the in-process API (RL calls it with the live model object); ``run_config``
is what ``thinkvl eval`` runs (benchmarks × modes from an :class:`EvalConfig`). Predictions are
stored as they come, keyed by (model, prompt, generation settings), so a rerun generates only
what is missing; scores are recomputed from predictions each time (judge calls are cached).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from thinkvl.eval.backends import Backend, Request
from thinkvl.eval.benchmarks import EvalItem, items_from_records, load_benchmark, load_records
from thinkvl.eval.config import DirectSettings, EvalConfig, GenerationSettings, VisionSettings
from thinkvl.eval.distributed import DataParallel
from thinkvl.eval.prompts import mode_prompt, prompt_fingerprint, resolve_media
from thinkvl.eval.results import EvalResult, Metrics, SampleResult, aggregate, official_numbers
from thinkvl.eval.scoring import Scored, Scorer
from thinkvl.eval.store import PredictionStore, fingerprint

__all__ = ["EvalResult", "Metrics", "SampleResult", "evaluate", "run_config", "run_items"]

log = logging.getLogger("thinkvl.eval")


def _media_kinds(prompt: list[dict]) -> set[str]:
    return {p.get("type") for m in prompt if isinstance(m.get("content"), list)
            for p in m["content"]} & {"image", "video"}


def prediction_key(model_fp: str, prompt: list[dict], base_dir: str | None, mode: str,
                   gen: GenerationSettings, vision: VisionSettings, template_kwargs: dict | None = None) -> str:
    """The fingerprint a prediction is stored under. Vision settings enter only for the media
    the prompt has, so changing the video cap leaves image predictions valid; chat-template
    arguments of the mode (a family's ``enable_thinking=False``) only when there are some."""
    kinds = _media_kinds(prompt)
    vis: dict[str, Any] = {}
    if "image" in kinds:
        vis["image_token_cap"] = vision.image_token_cap
    if "video" in kinds:
        vis.update(video_token_cap=vision.video_token_cap, video_fps=vision.video_fps,
                   max_frames=vision.max_frames)
    if template_kwargs:
        return fingerprint(model_fp, prompt_fingerprint(prompt, base_dir), mode, gen.model_dump(), vis,
                           template_kwargs)
    return fingerprint(model_fp, prompt_fingerprint(prompt, base_dir), mode,
                       gen.model_dump(), vis)


def _progress(enabled: bool, total: int, label: str):
    if not enabled or total == 0:
        return None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    prog = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn())
    prog.start()
    prog.add_task(label, total=total)
    return prog


def generate_missing(backend: Backend, items: Sequence[EvalItem], mode: str,
                     gen: GenerationSettings, vision: VisionSettings, store: PredictionStore,
                     progress: bool = False, direct: DirectSettings | None = None,
                     dp: DataParallel | None = None) -> tuple[list[str], int, dict[str, str]]:
    """Generate every prediction the store lacks (under data parallelism: this rank's share),
    appending each chunk as it completes.

    Returns (keys in item order, number generated, errors by key)."""
    model_fp = backend.model_fingerprint()
    family = getattr(backend, "family", None)  # the model's hybrid-thinking convention, where known
    moded = [mode_prompt(item.prompt, mode, direct, family) for item in items]
    prompts = [p for p, _ in moded]
    keys = [prediction_key(model_fp, p, item.base_dir, mode, gen, vision, kw)
            for item, (p, kw) in zip(items, moded)]
    todo, seen = [], set()
    for i, k in enumerate(keys):  # identical prompts share one prediction
        if k not in store and k not in seen:
            seen.add(k)
            todo.append(i)
    if dp is not None:
        todo = dp.share(todo)
    errors: dict[str, str] = {}
    made = 0
    bar = _progress(progress, len(todo), f"{items[0].bench if items else ''} [{mode}]")
    try:
        for start in range(0, len(todo), backend.batch_size):
            chunk = todo[start:start + backend.batch_size]
            requests = [Request(prompts[i], resolve_media(prompts[i], items[i].base_dir, vision), moded[i][1],
                                where=f"{items[i].bench}:{items[i].id}") for i in chunk]
            t0 = time.perf_counter()
            outputs = backend.generate(requests, gen, mode)
            per = (time.perf_counter() - t0) / max(1, len(chunk))
            rows = []
            for i, out in zip(chunk, outputs):
                if out.error:
                    errors[keys[i]] = out.error
                    continue
                rows.append({"key": keys[i], "bench": items[i].bench, "id": items[i].id,
                             "mode": mode, "model": model_fp, "text": out.text,
                             "forced": out.forced, "truncated": out.truncated,
                             "tokens": out.tokens, "seconds": round(per, 4)})
            store.add(rows)
            made += len(rows)
            if bar is not None:
                bar.advance(bar.task_ids[0], len(chunk))
    finally:
        if bar is not None:
            bar.stop()
    return keys, made, errors


def score_items(items: Sequence[EvalItem], keys: list[str], store: PredictionStore,
                scorer: Scorer, mode: str,
                errors: dict[str, str] | None = None) -> list[SampleResult]:
    """Score stored predictions (items whose generation failed become ``error`` samples)."""
    errors = errors or {}
    ready = [(item, store.get(key)) for item, key in zip(items, keys)]
    scored: list[Scored | None] = scorer.score_many(
        [(item, row["text"], bool(row.get("truncated"))) for item, row in ready if row is not None])
    it = iter(scored)
    out = []
    for (item, row), key in zip(ready, keys):
        if row is None:
            out.append(SampleResult(item.id, item.bench, mode, item.domain, item.group, item.family,
                                    item.answer, "", None, "none", 0.0, False, False, True, False,
                                    False, False, "generation failed", [], None, key,
                                    errors.get(key, "no prediction"), item.categories))
            continue
        s = next(it)
        out.append(SampleResult(
            id=item.id, bench=item.bench, mode=mode, domain=item.domain, group=item.group,
            family=item.family, answer=item.answer, text=row["text"], prediction=s.prediction,
            method=s.method, score=s.score, correct=s.correct, invalid=s.invalid,
            missing=s.missing, truncated=bool(row.get("truncated")), forced=bool(row.get("forced")),
            judge_failed=s.judge_failed, reason=s.reason, flags=sorted(s.flags),
            tokens=row.get("tokens"), key=key, categories=item.categories))
    return out


def run_items(backend: Backend, items: Sequence[EvalItem], mode: str, gen: GenerationSettings,
              vision: VisionSettings, store: PredictionStore, scorer: Scorer,
              progress: bool = False, bench: str | None = None,
              direct: DirectSettings | None = None, dp: DataParallel | None = None,
              skipped: dict[str, int] | None = None) -> EvalResult | None:
    """Generate what is missing, score everything, aggregate. Under data parallelism every
    rank generates its share; rank 0 alone scores and returns the result (others: None)."""
    if mode not in ("think", "direct"):
        raise ValueError(f"unknown mode {mode!r}; expected think or direct")
    items = list(items)
    scorer.check_domains(items)
    t0 = time.perf_counter()
    keys, made, errors = generate_missing(backend, items, mode, gen, vision, store, progress,
                                          direct, dp)
    if dp is not None:
        made = dp.gather(store)
        if not dp.is_main:
            return None
    samples = score_items(items, keys, store, scorer, mode, errors)
    overall, by_domain, by_group, by_category = aggregate(items, samples)
    settings = {"mode": mode, **backend.info(), "model_id": backend.model_fingerprint(),
                "generation": gen.model_dump(), "vision": vision.model_dump(),
                "scoring": scorer.describe(),
                "direct_prompt": (direct or DirectSettings()).model_dump(),
                "data_parallel": dp.world if dp is not None else 1}
    name = bench or (items[0].bench if items else "")
    return EvalResult(name, mode, overall, by_domain, by_group, samples, settings, made,
                      time.perf_counter() - t0, by_category, official_numbers(items, samples),
                      dict(skipped or {}))


# -- the in-process API --------------------------------------------------------------------------


def _generation(settings: Any) -> GenerationSettings:
    """Generation settings from ``GenerationSettings`` (or a section built on it, such as RL's
    rollout settings: only the decoding fields are kept, they key the predictions), a dict, or
    None (the evaluation defaults)."""
    if settings is None:
        return GenerationSettings()
    if isinstance(settings, dict):
        return GenerationSettings(**settings)
    if isinstance(settings, GenerationSettings):
        return GenerationSettings(**{k: getattr(settings, k) for k in GenerationSettings.model_fields})
    raise TypeError(f"generation settings must be GenerationSettings or a dict, got {type(settings).__name__}")


def _items(records: Any, bench: str, base_dir: str | Path | None = None) -> list[EvalItem]:
    if isinstance(records, (str, Path)):
        items = list(load_records(Path(records), bench=bench))
    else:
        records = list(records)
        if records and isinstance(records[0], EvalItem):
            items = records
        else:
            items = list(items_from_records(records, bench=bench, base_dir=base_dir))
    if not items:
        raise ValueError("nothing to evaluate: the records are empty")
    return items


def make_backend(model: Any, processor: Any = None, config: EvalConfig | None = None,
                 model_id: str | None = None, dp: DataParallel | None = None) -> Backend:
    """A backend for ``model``: a Backend as is, a URL → OpenAI-compatible, a folder → HF
    (or vLLM when configured), a loaded model object (+ processor) → HF in-process. Under
    data parallelism on GPUs, each rank's HF model sits on its own GPU."""
    config = config or EvalConfig()
    b = config.backend
    if hasattr(model, "generate") and hasattr(model, "model_fingerprint"):
        return model
    if isinstance(model, str) and model.startswith(("http://", "https://")) or b.name == "openai":
        from thinkvl.eval.backends.openai import OpenAIBackend

        url = model if isinstance(model, str) and model.startswith("http") else b.openai.base_url
        if not url:
            raise ValueError("the openai backend needs a server URL: --model http://HOST:PORT/v1 "
                             "or backend.openai.base_url")
        return OpenAIBackend(url, b.openai, model_id, vision=config.vision)
    if isinstance(model, (str, Path)):
        if b.name == "vllm":
            from thinkvl.eval.backends.vllm import VLLMBackend

            return VLLMBackend(model, config.vision, b.vllm, model_id, seed=config.generation.seed)
        from thinkvl.eval.backends.hf import HFBackend

        device = b.hf.device
        if device is None and dp is not None:
            import torch

            device = f"cuda:{dp.local_rank}" if torch.cuda.is_available() else None
        backend = HFBackend.from_path(model, config.vision, b.hf.batch_size, b.hf.dtype, device)
        backend._model_id = model_id
        return backend
    if processor is None:
        raise ValueError("evaluating a loaded model needs its processor")
    from thinkvl.eval.backends.hf import HFBackend

    return HFBackend(model, processor, config.vision, b.hf.batch_size, model_id)


def evaluate(model_or_path: Any, processor: Any = None, records: Any = None, mode: str = "think",
             generation: Any = None, out_dir: str | Path | None = None, *,
             vision: VisionSettings | None = None, scorer: Scorer | None = None,
             batch_size: int = 16, model_id: str | None = None, bench: str = "records",
             base_dir: str | Path | None = None, progress: bool = False) -> EvalResult:
    """Evaluate a model (folder, URL, loaded model object or Backend) on RL/eval records.

    ``records``: a JSONL/Parquet path, a list of record dicts (relative media paths resolve
    against their ``_source`` file, else ``base_dir``), or a list of ``EvalItem``.
    ``generation``: ``GenerationSettings`` (RL's rollout section is one) or a dict (default:
    greedy, 8,192 think tokens then force-answer). With ``out_dir``, predictions persist there (a rerun resumes)
    and ``results.json`` / ``results.md`` are written; without it everything stays in memory.
    """
    if records is None:
        raise ValueError("evaluate() needs records (a path or a list)")
    config = EvalConfig()
    config.backend.hf.batch_size = batch_size
    if vision is not None:
        config.vision = vision
    backend = make_backend(model_or_path, processor, config, model_id)
    store = PredictionStore(Path(out_dir) / "predictions.jsonl" if out_dir else None)
    own = scorer is None
    scorer = scorer or Scorer()
    try:
        result = run_items(backend, _items(records, bench, base_dir), mode,
                           _generation(generation),
                           config.vision, store, scorer, progress, bench)
    finally:
        if own:
            scorer.close()
    if out_dir is not None:
        from thinkvl.eval.report import write_run

        write_run(out_dir, [result])
    return result


def run_config(config: EvalConfig, model: Any, processor: Any = None, model_id: str | None = None,
               progress: bool = True, backend: Backend | None = None) -> list[EvalResult]:
    """Every configured benchmark in every configured mode (what ``thinkvl eval`` runs).

    Under ``torchrun`` (WORLD_SIZE > 1) the ranks share the generation (see
    :mod:`thinkvl.eval.distributed`); rank 0 returns the results, the others an empty list."""
    from thinkvl.eval import distributed
    from thinkvl.eval.report import write_run

    if not config.benches:
        raise ValueError("no benchmark given: --bench NAME[:PATH][,…]")
    benches = [load_benchmark(spec, config.data_root, config.limit) for spec in config.benches]
    dp = distributed.setup()
    main = dp is None or dp.is_main
    backend = backend or make_backend(model, processor, config, model_id, dp)
    out = Path(config.out)
    store = PredictionStore(out / "predictions.jsonl", shard=dp.rank if dp else None)
    if dp is not None:
        dp.gather(store)  # shards an interrupted run left behind
    elif store.shard_files():
        store.merge_shards()
    scorer = Scorer.from_settings(config.scoring)
    results = []
    try:
        for bench in benches:
            for mode in config.modes:
                r = run_items(backend, bench.items, mode, config.generation, config.vision,
                              store, scorer, progress and main, bench.name, config.direct, dp,
                              bench.skipped)
                if r is not None:
                    results.append(r)
                    write_run(out, results, config)
    finally:
        backend.close()
        scorer.close()
        if dp is not None:
            dp.close()
    return results


def iter_modes(mode: str) -> Iterable[str]:
    """``both`` → think, direct."""
    return ("think", "direct") if mode == "both" else (mode,)
