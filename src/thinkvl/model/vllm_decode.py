"""Generation with vLLM from the trainer's token ids, with force-answering: shared by the RL
rollout engine (``rl.rollout.vllm``) and the vLLM evaluation backend (``eval.backends.vllm``).

* **the trainer's tokens**: prompts are encoded with thinkvl's own code (``encode_prompts``:
  chat template, vision processor, direct-mode ``/nothink``) and handed to vLLM as token ids
  plus ``multi_modal_data`` (``model.vllm_inputs``); vLLM's expansion of the vision
  placeholders is checked against those ids on every request;
* **force-answering from token ids**: phase one samples up to the think budget; every candidate
  cut by the budget is continued in *one* batched call whose prompts are the prompt ids + its
  sampled ids (+ ``</think><answer>`` as ids when the think block never closed; not trained
  on) — never re-tokenised text, so vLLM conditions on exactly what is trained. This mirrors
  ``model.generate.decode`` (the HF path), token for token under greedy decoding;
* **placeholders never sampled**: the tokens of ``model.suppress`` are vLLM ``bad_words``;
* **sampled log-probs** (``Completion.logprobs``, None for fed tokens). The engine reports
  raw log-probs (the logits' log-softmax, what the actor recomputes) when started with
  ``logprobs_mode="raw_logprobs"``, processed ones (after temperature and bad words) otherwise.
"""

from __future__ import annotations

from thinkvl.format import FORCE_ANSWER_SUFFIX, THINK_CLOSE
from thinkvl.model.decoding import completion_text
from thinkvl.model.families import adapter_for
from thinkvl.model.generate import Completion, encode_prompts, eos_ids, extend_sample
from thinkvl.model.inputs import Media, collect_media
from thinkvl.model.settings import GenerationSettings
from thinkvl.model.suppress import never_sample_ids
from thinkvl.model.vllm_inputs import check_prompt, never_sample_tokens, placeholders_for, vllm_prompt


class _WithGeneration:
    """``eos_ids`` reads ``model.generation_config``; vLLM has no HF model to read it from."""

    def __init__(self, generation_config):
        self.generation_config = generation_config


class VLLMDecoder:
    """Decoding settings and token bookkeeping around one ``vllm.LLM``."""

    def __init__(self, llm, model_path, processor, config=None, generation_config=None):
        from transformers import AutoConfig, GenerationConfig

        self.llm = llm
        self.processor = processor
        config = config or AutoConfig.from_pretrained(model_path)
        if generation_config is None:
            try:
                generation_config = GenerationConfig.from_pretrained(model_path)
            except OSError:
                generation_config = GenerationConfig()
        holder = _WithGeneration(generation_config)
        holder.config = config
        self.adapter = adapter_for(holder, processor)  # stop ids, markers, scaffolding of the family
        self.vt = placeholders_for(self.adapter)
        tok = processor.tokenizer
        self.eos = sorted(eos_ids(holder, tok) | set(self.adapter.stop_ids))
        self.bad_words = never_sample_tokens(tok, never_sample_ids(config, generation_config,
                                                                   self.adapter.never_sample_ids))
        self.suffix = tok(FORCE_ANSWER_SUFFIX, add_special_tokens=False)["input_ids"]

    def params(self, settings: GenerationSettings, max_tokens: int, n: int = 1, seed: int | None = None):
        from vllm import SamplingParams

        common = dict(n=n, max_tokens=max_tokens, logprobs=0, bad_words=self.bad_words, seed=seed,
                      stop_token_ids=self.eos, skip_special_tokens=False, detokenize=False)
        if settings.greedy:
            return SamplingParams(temperature=0.0, **common)
        return SamplingParams(temperature=settings.temperature, top_p=settings.top_p,
                              top_k=settings.top_k or -1, **common)

    def encode(self, prompts: list[list[dict]], media: list[Media], think: bool = True,
               template_kwargs: list | None = None):
        """The trainer's encoding of each chat prompt (``think=False``: direct mode), and its vLLM input."""
        encoded = encode_prompts(self.adapter, prompts, think, media=media, template_kwargs=template_kwargs)
        return encoded, [vllm_prompt(e, m, self.vt) for e, m in zip(encoded, media)]

    def generate(self, prompts: list[list[dict]], n: int, settings: GenerationSettings, base_dirs=None,
                 media: list[Media] | None = None, seed: int | None = None,
                 think: bool = True, template_kwargs: list | None = None) -> list[list[Completion]]:
        """``n`` completions of each chat prompt (groups in prompt order)."""
        if not prompts:
            return []
        if media is None:
            dirs = base_dirs or [None] * len(prompts)
            media = [collect_media(p, d) for p, d in zip(prompts, dirs)]
        encoded, inputs = self.encode(prompts, media, think, template_kwargs)
        return self.complete(inputs, encoded, n, settings, seed)

    def score(self, prompts: list[list[dict]], completions: list[list[int]], think: bool = True,
              base_dirs=None) -> list[list[float]]:
        """vLLM's raw log-prob of each token of a given completion of each prompt."""
        from vllm import SamplingParams

        dirs = base_dirs or [None] * len(prompts)
        media = [collect_media(p, d) for p, d in zip(prompts, dirs)]
        encoded = encode_prompts(self.adapter, prompts, think, media=media)
        inputs = [vllm_prompt(e, m, self.vt, extra_ids=c) for e, m, c in zip(encoded, media, completions)]
        params = SamplingParams(max_tokens=1, prompt_logprobs=0, detokenize=False)
        out = []
        for enc, comp, res in zip(encoded, completions, self.llm.generate(inputs, params, use_tqdm=False)):
            check_prompt(res.prompt_token_ids, enc)
            start = len(res.prompt_token_ids) - len(comp)
            out.append([float(res.prompt_logprobs[start + i][t].logprob) for i, t in enumerate(comp)])
        return out

    def complete(self, inputs: list[dict], encoded, n: int, settings: GenerationSettings,
                 seed: int | None = None) -> list[list[Completion]]:
        """``n`` completions per prompt with force-answering; phase two is one batched call."""
        return _complete(self, inputs, encoded, n, settings, seed)


def _sampled(out) -> tuple[list[int], list[float | None]]:
    ids = list(out.token_ids)
    lps: list[float | None] = []
    for i, tok in enumerate(ids):
        entry = out.logprobs[i] if out.logprobs is not None and i < len(out.logprobs) else None
        lps.append(float(entry[tok].logprob) if entry and tok in entry else None)
    return ids, lps


def _complete(engine: VLLMDecoder, inputs: list[dict], encoded, n: int, settings: GenerationSettings,
              seed: int | None) -> list[list[Completion]]:
    think_budget, answer_budget = max(0, settings.think_budget), max(0, settings.answer_budget)
    rows: list[dict] = []
    if think_budget > 0:
        first = engine.llm.generate(inputs, engine.params(settings, think_budget, n, seed), use_tqdm=False)
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
        if not (THINK_CLOSE in encoded[row["p"]].response_prefix or engine.adapter.think_closed(row["ids"])):
            row["forced"] = True
            row["ids"] += engine.suffix
            row["lps"] += [None] * len(engine.suffix)
            row["trainable"] += [False] * len(engine.suffix)
        if answer_budget > 0:
            cont.append(row)
    if cont:
        prompts = [dict(inputs[r["p"]], prompt_token_ids=inputs[r["p"]]["prompt_token_ids"] + r["ids"])
                   for r in cont]
        second = engine.llm.generate(prompts, engine.params(settings, answer_budget, 1, seed), use_tqdm=False)
        for row, res in zip(cont, second):
            check_prompt(res.prompt_token_ids, encoded[row["p"]], where="forced-answer prompt")
            cand = res.outputs[0]
            ids, lps = _sampled(cand)
            row["ids"] += ids
            row["lps"] += lps
            row["trainable"] += [True] * len(ids)
            row["done"] = cand.finish_reason != "length"
    eos = set(engine.eos)
    groups: list[list[Completion]] = [[] for _ in inputs]
    for row in rows:
        text = completion_text(engine.adapter, row["ids"], eos, encoded[row["p"]])
        groups[row["p"]].append(Completion(
            text=text, token_ids=row["ids"], forced=row["forced"], truncated=not row["done"],
            sample=extend_sample(encoded[row["p"]], row["ids"], trainable=row["trainable"]),
            logprobs=row["lps"]))
    return groups
