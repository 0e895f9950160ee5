"""vLLM rollouts, colocated and in-process, behind the same interface as the HF engine.

What the trainer needs from a rollout engine, and how this one provides it:

* **the trainer's tokens**: each prompt is encoded once with the trainer's own code
  (``encode_prompts``: chat template, vision processor, direct-mode ``/nothink``) and handed to
  vLLM as token ids plus ``multi_modal_data`` (``model.vllm_inputs``); vLLM's expansion of the
  vision placeholders is checked against the trainer's ids on every request;
* **force-answering from token ids**: phase one samples up to ``think_budget`` tokens; every
  candidate cut by the budget is continued in *one* batched call whose prompts are the prompt
  ids + its sampled ids (+ ``</think><answer>`` as ids when the think block never closed) —
  never re-tokenised text, so vLLM conditions on exactly what is trained;
* **placeholders never sampled**: vision placeholders and the model's suppressed tokens are
  vLLM ``bad_words`` (a sampled ``<|image|>`` breaks the next forward pass);
* **sampled log-probs** (``Completion.logprobs``, None for fed tokens) for the mismatch metric
  and truncated importance sampling (``rl.mismatch``). At temperature 1 they are vLLM's raw
  log-probs (log-softmax of the logits, what the actor recomputes); otherwise the processed
  ones (after temperature — and after the suppression of the bad words, a small difference);
* **weights after every update**: ``sync`` reloads the actor's full state dict through the
  engine's supported reload path and resets the prefix cache (``model.vllm_engine``);
* **sleep mode (CUDA)**: after generating, the engine sleeps (KV cache dropped, weights
  offloaded) so the update has the GPU; ``sync`` wakes the weights, reloads, then the KV cache.
  The CPU build has no sleep mode: there the calls are skipped. Untested here (no GPU).
"""

from __future__ import annotations

from thinkvl.format import FORCE_ANSWER_SUFFIX, THINK_CLOSE
from thinkvl.model.generate import Completion, Sampling, encode_prompts, eos_ids, extend_sample
from thinkvl.model.inputs import collect_media
from thinkvl.model.suppress import never_sample_ids
from thinkvl.model.vllm_engine import EngineSettings, close_engine, on_cpu, reload_weights, start_engine
from thinkvl.model.vllm_inputs import VisionTokens, check_prompt, never_sample_tokens, vllm_prompt
from thinkvl.rl.data import Prompt


class VLLMRollout:
    def __init__(self, model_path: str, processor, sampling: Sampling, settings: EngineSettings | None = None,
                 model_config=None, generation_config=None, distributed: bool = False, llm=None):
        """``llm``: an engine already started on ``model_path`` (tests share one)."""
        from transformers import AutoConfig, GenerationConfig

        self.processor = processor
        self.sampling = sampling
        mode = "raw_logprobs" if sampling.greedy or sampling.temperature == 1.0 else "processed_logprobs"
        self.settings = settings or EngineSettings()
        if llm is None:
            from dataclasses import replace

            self.settings = replace(self.settings, logprobs_mode=mode)
            llm = start_engine(model_path, self.settings, distributed=distributed)
        self.llm = llm
        self.cpu = on_cpu()
        self.sleeping = False
        config = model_config or AutoConfig.from_pretrained(model_path)
        if generation_config is None:
            try:
                generation_config = GenerationConfig.from_pretrained(model_path)
            except OSError:
                generation_config = GenerationConfig()
        self.vt = VisionTokens.from_config(config)
        tok = processor.tokenizer
        self.eos = sorted(eos_ids(_WithGeneration(generation_config), tok))
        self.bad_words = never_sample_tokens(tok, never_sample_ids(config, generation_config))
        self.suffix = tok(FORCE_ANSWER_SUFFIX, add_special_tokens=False)["input_ids"]
        self.think_close = tok.convert_tokens_to_ids(THINK_CLOSE)

    def params(self, max_tokens: int, n: int = 1):
        from vllm import SamplingParams

        s = self.sampling
        common = dict(n=n, max_tokens=max_tokens, logprobs=0, bad_words=self.bad_words,
                      stop_token_ids=self.eos, skip_special_tokens=False, detokenize=False)
        if s.greedy:
            return SamplingParams(temperature=0.0, **common)
        return SamplingParams(temperature=s.temperature, top_p=s.top_p, top_k=s.top_k or -1, **common)

    def _generate(self, prompts: list[dict], params):
        return self.llm.generate(prompts, params, use_tqdm=False)

    def rollout(self, prompts: list[Prompt], n: int) -> list[list[Completion]]:
        if not prompts:
            return []
        self._wake()
        media = [collect_media(p.messages, p.base_dir) for p in prompts]
        encoded = encode_prompts(self.processor, [p.messages for p in prompts], self.sampling,
                                 media=media)
        inputs = [vllm_prompt(e, m, self.vt) for e, m in zip(encoded, media)]
        s = self.sampling
        groups = complete(self, inputs, encoded, n, max(0, s.think_budget), max(0, s.answer_budget))
        self._sleep()
        return groups

    def score(self, prompts: list[Prompt], completions: list[list[int]]) -> list[list[float]]:
        """vLLM's log-prob of each token of a given completion of each prompt (raw log-probs:
        the logits' log-softmax, as the actor computes at temperature 1)."""
        from vllm import SamplingParams

        media = [collect_media(p.messages, p.base_dir) for p in prompts]
        encoded = encode_prompts(self.processor, [p.messages for p in prompts], self.sampling, media=media)
        inputs = [vllm_prompt(e, m, self.vt, extra_ids=c) for e, m, c in zip(encoded, media, completions)]
        params = SamplingParams(max_tokens=1, prompt_logprobs=0, detokenize=False)
        out = []
        for enc, comp, res in zip(encoded, completions, self._generate(inputs, params)):
            check_prompt(res.prompt_token_ids, enc)
            start = len(res.prompt_token_ids) - len(comp)
            out.append([float(res.prompt_logprobs[start + i][t].logprob) for i, t in enumerate(comp)])
        return out

    def sync(self, actor_model) -> None:
        """The actor's weights into the engine (call after every optimizer update)."""
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        state = get_model_state_dict(actor_model, options=StateDictOptions(full_state_dict=True))
        if self.sleeping:  # pragma: no cover - CUDA sleep mode
            self.llm.wake_up(tags=["weights"])
        reload_weights(self.llm, state.items(), expected=len(state))
        if self.sleeping:  # pragma: no cover - CUDA sleep mode
            self.llm.wake_up(tags=["kv_cache"])
            self.sleeping = False

    def _sleep(self) -> None:
        if self.settings.sleep_mode and not self.cpu:  # pragma: no cover - CUDA sleep mode
            self.llm.sleep(level=1)
            self.sleeping = True

    def _wake(self) -> None:
        if self.sleeping:  # pragma: no cover - CUDA sleep mode
            self.llm.wake_up()
            self.sleeping = False

    def close(self) -> None:
        close_engine(self.llm)


def engine_settings(rollout=None, seed: int = 0, **_) -> EngineSettings:
    """Engine settings from an ``RLConfig.rollout`` section (defaults without one)."""
    if rollout is None:
        return EngineSettings(seed=seed)
    return EngineSettings(dtype=rollout.dtype, max_model_len=rollout.max_model_len,
                          gpu_memory_utilization=rollout.gpu_memory_utilization,
                          cpu_kv_cache_gib=rollout.cpu_kv_cache_gib, sleep_mode=rollout.sleep_mode,
                          seed=seed)


class _WithGeneration:
    """``eos_ids`` reads ``model.generation_config``; this engine has no HF model."""

    def __init__(self, generation_config):
        self.generation_config = generation_config


def _sampled(out) -> tuple[list[int], list[float | None]]:
    ids = list(out.token_ids)
    lps: list[float | None] = []
    for i, tok in enumerate(ids):
        entry = out.logprobs[i] if out.logprobs is not None and i < len(out.logprobs) else None
        lps.append(float(entry[tok].logprob) if entry and tok in entry else None)
    return ids, lps


def complete(engine: VLLMRollout, inputs: list[dict], encoded, n: int, think_budget: int,
             answer_budget: int) -> list[list[Completion]]:
    """``n`` completions per prompt with force-answering; phase two is one batched call.

    Mirrors ``model.generate.decode``: a candidate without an end-of-sequence after
    ``think_budget`` tokens gets ``</think><answer>`` (when its think block never closed; not
    trained on) and ``answer_budget`` more tokens."""
    rows: list[dict] = []
    if think_budget > 0:
        first = engine._generate(inputs, engine.params(think_budget, n))
        for p, res in enumerate(first):
            check_prompt(res.prompt_token_ids, encoded[p])
            for cand in res.outputs:
                ids, lps = _sampled(cand)
                rows.append({"p": p, "ids": ids, "lps": lps, "done": cand.finish_reason != "length"})
    else:
        rows = [{"p": p, "ids": [], "lps": [], "done": False} for p in range(len(inputs)) for _ in range(n)]
    cont = []
    for row in rows:
        row["trainable"] = [True] * len(row["ids"])
        row["forced"] = False
        if row["done"]:
            continue
        if engine.think_close not in row["ids"]:
            row["forced"] = True
            row["ids"] += engine.suffix
            row["lps"] += [None] * len(engine.suffix)
            row["trainable"] += [False] * len(engine.suffix)
        if answer_budget > 0:
            cont.append(row)
    if cont:
        prompts = [dict(inputs[r["p"]], prompt_token_ids=inputs[r["p"]]["prompt_token_ids"] + r["ids"])
                   for r in cont]
        for row, res in zip(cont, engine._generate(prompts, engine.params(answer_budget, 1))):
            check_prompt(res.prompt_token_ids, encoded[row["p"]], where="forced-answer prompt")
            cand = res.outputs[0]
            ids, lps = _sampled(cand)
            row["ids"] += ids
            row["lps"] += lps
            row["trainable"] += [True] * len(ids)
            row["done"] = cand.finish_reason != "length"
    tok = engine.processor.tokenizer
    eos = set(engine.eos)
    groups: list[list[Completion]] = [[] for _ in inputs]
    for row in rows:
        text = tok.decode([t for t in row["ids"] if t not in eos], skip_special_tokens=False)
        groups[row["p"]].append(Completion(
            text=text, token_ids=row["ids"], forced=row["forced"], truncated=not row["done"],
            sample=extend_sample(encoded[row["p"]], row["ids"], trainable=row["trainable"]),
            logprobs=row["lps"]))
    return groups
