"""vLLM rollouts (GPU only): a thin adapter behind the same interface as the HF engine.

vLLM runs colocated with the trainer; after each optimizer update the actor's weights are
loaded into vLLM's model in place. Force-answering works as in the HF engine: a first pass up
to the think budget, then ``</think><answer>`` appended for unfinished thoughts and a second
pass within the answer budget.
"""

from __future__ import annotations

from thinkvl.format import FORCE_ANSWER_SUFFIX, THINK_CLOSE
from thinkvl.model.generate import Completion, Sampling, extend_sample
from thinkvl.model.inputs import collect_media, encode_sample
from thinkvl.rl.data import Prompt


class VLLMRollout:
    def __init__(self, model_path: str, processor, sampling: Sampling, gpu_memory_utilization: float = 0.5,
                 max_model_len: int = 32768, seed: int = 0):
        try:
            from vllm import LLM
        except ImportError as exc:  # pragma: no cover - GPU machines only
            raise RuntimeError("the vLLM rollout engine needs `pip install vllm` on a CUDA machine; "
                               "use rollout.engine=hf on CPU") from exc
        self.processor = processor
        self.sampling = sampling
        self.llm = LLM(model=str(model_path), gpu_memory_utilization=gpu_memory_utilization,
                       max_model_len=max_model_len, seed=seed, enable_prefix_caching=True)

    def _params(self, max_tokens: int, n: int = 1):
        from vllm import SamplingParams

        if self.sampling.greedy:
            return SamplingParams(n=n, temperature=0.0, max_tokens=max_tokens)
        return SamplingParams(n=n, temperature=self.sampling.temperature, top_p=self.sampling.top_p,
                              top_k=self.sampling.top_k or -1, max_tokens=max_tokens)

    def rollout(self, prompts: list[Prompt], n: int) -> list[list[Completion]]:  # pragma: no cover
        tok = self.processor.tokenizer
        inputs, encoded = [], []
        for p in prompts:
            media = collect_media(p.messages, p.base_dir)
            enc = encode_sample(self.processor, p.messages, None, media=media)
            encoded.append(enc)
            mm = {}
            if media.images:
                mm["image"] = media.images
            if media.videos:
                mm["video"] = media.videos
            text = self.processor.apply_chat_template(p.messages, add_generation_prompt=True, tokenize=False)
            inputs.append({"prompt": text, "multi_modal_data": mm})
        first = self.llm.generate(inputs, self._params(self.sampling.think_budget, n), use_tqdm=False)
        suffix = tok(FORCE_ANSWER_SUFFIX, add_special_tokens=False)["input_ids"]
        results: list[list[Completion]] = []
        for p_idx, out in enumerate(first):
            group = []
            for cand in out.outputs:
                ids = list(cand.token_ids)
                forced = cand.finish_reason == "length" and tok.convert_tokens_to_ids(THINK_CLOSE) not in ids
                trainable = [True] * len(ids)
                if cand.finish_reason == "length":
                    extra = ids + (suffix if forced else [])
                    cont = dict(inputs[p_idx], prompt=inputs[p_idx]["prompt"] + tok.decode(extra))
                    second = self.llm.generate([cont], self._params(self.sampling.answer_budget), use_tqdm=False)
                    tail = list(second[0].outputs[0].token_ids)
                    trainable += [False] * (len(suffix) if forced else 0) + [True] * len(tail)
                    ids = extra + tail
                    truncated = second[0].outputs[0].finish_reason == "length"
                else:
                    truncated = False
                group.append(Completion(text=tok.decode(ids), token_ids=ids, forced=forced, truncated=truncated,
                                        sample=extend_sample(encoded[p_idx], ids, trainable=trainable)))
            results.append(group)
        return results

    def sync(self, actor_model) -> None:  # pragma: no cover - GPU machines only
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        state = get_model_state_dict(actor_model, options=StateDictOptions(full_state_dict=True))
        runner = self.llm.llm_engine.model_executor.driver_worker.worker.model_runner
        runner.model.load_weights(weights=state.items())
