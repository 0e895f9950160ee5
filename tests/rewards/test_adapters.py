"""thinkvl's reward system called as TRL and verl call a reward function.

verl itself is not installed: ``VerlBatch`` holds a batch the way verl's ``DataProto`` does
(``batch``: left-padded ``prompts``, right-padded ``responses``, ``attention_mask`` over both;
``non_tensor_batch``: numpy object arrays ``data_source``, ``reward_model`` ({"ground_truth"}),
``extra_info``), and ``naive_manager`` / ``batch_manager`` repeat what verl's
``NaiveRewardManager.__call__`` and ``BatchRewardManager.verify``/``__call__`` do with it
(verl/workers/reward_manager/{naive,batch}.py at volcengine/verl b178a3c, 2026-01-29): slice the
valid response ids by the attention mask, decode them with ``skip_special_tokens=True``, add
``num_turns`` and ``rollout_reward_scores`` to ``extra_info``, call ``compute_score`` with those
keyword names (plus the configured ``reward_kwargs``), and put ``score`` (or the float) on the
response's last valid token, the dict's keys into ``reward_extra_info`` lists.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch
from reward_helpers import resp

from thinkvl.rewards import RewardSystem
from thinkvl.rewards.adapters import TRLReward, compute_score, compute_score_batch
from thinkvl.rewards.judge import JudgeVerdict

RECORDS = [  # (data_source, domain, ground truth, a correct box, a wrong box) as thinkvl's RL data holds them
    ("thinkvl/counting", "counting", 3, "3", "4"),
    ("thinkvl/grounding", "grounding", [[100, 100, 400, 500]], "[100,100,400,500]", "[600,600,900,900]"),
    ("thinkvl/choice", "choice", "B", "B", "D"),
    ("thinkvl/ocr", "ocr", "cat", "cat", "dog"),
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from thinkvl.model.factory import build_tiny

    return build_tiny(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture(scope="module")
def verl_ready(tiny, tmp_path_factory) -> Path:
    """The tiny model's tokenizer with the protocol markers as ordinary added tokens."""
    from thinkvl.model.tokenizer import markers_not_special

    folder = tmp_path_factory.mktemp("verl") / "model"
    shutil.copytree(tiny, folder)
    assert markers_not_special(folder) == ["<think>", "</think>", "<answer>", "</answer>",
                                           "<|begin_of_box|>", "<|end_of_box|>"]
    return folder


def tokenizer(folder: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


@pytest.fixture(scope="module")
def reward_yaml(tmp_path_factory) -> str:
    """A reward YAML, as verl passes it: custom_reward_function.reward_kwargs.config."""
    path = tmp_path_factory.mktemp("rewards") / "rewards.yaml"
    path.write_text("aliases:\n  thinkvl/counting: counting\n")
    return str(path)


@pytest.fixture(autouse=True)
def warn_again():
    """The adapters warn once per process; each test starts afresh."""
    from thinkvl.rewards import adapters

    adapters._warned.clear()


class FailingJudge:
    model = "down"

    def judge_many(self, requests):
        return [JudgeVerdict(error="connection refused") for _ in requests]

    async def ajudge_many(self, requests):
        return self.judge_many(requests)


# --- TRL ----------------------------------------------------------------------------------------
def trl_call(reward, tok, responses, answers, domains, **columns):
    """Call ``reward`` as GRPOTrainer._calculate_rewards does (TRL 1.16): decoded completions
    (skip_special_tokens=True), completion ids ending in the end-of-turn token, columns as lists."""
    ids = [tok(r, add_special_tokens=False)["input_ids"] + [tok.convert_tokens_to_ids("<|user|>")] for r in responses]
    completions = [[{"role": "assistant", "content": tok.decode(i, skip_special_tokens=True)}] for i in ids]
    logged = defaultdict(list)
    prompts = [[{"role": "user", "content": "q"}]] * len(responses)
    out = reward(prompts=prompts, completions=completions, completion_ids=ids, answer=answers, domain=domains,
                 trainer_state=None, log_extra=lambda *a: None, log_metric=lambda k, v: logged[k].append(v),
                 **columns)
    return out, logged


def test_trl_reward_decodes_completion_ids_with_the_markers_kept(tiny):
    tok = tokenizer(tiny)
    responses = [resp(r[3]) for r in RECORDS] + [resp(r[4]) for r in RECORDS]
    answers = [json.dumps(r[2]) for r in RECORDS] * 2
    domains = [r[1] for r in RECORDS] * 2
    out, logged = trl_call(TRLReward(tokenizer=tok, json_answers=True), tok, responses, answers, domains)
    assert out == [1.0] * 4 + [0.0] * 4
    assert logged["thinkvl/accuracy"] == [0.5] and logged["thinkvl/counting/accuracy"] == [0.5]
    assert logged["thinkvl/format_error_rate"] == [0.0]
    # TRL's own text lost the markers (special tokens): without the tokenizer every response fails
    # format validation, and the adapter says why once
    with pytest.warns(UserWarning, match="skip_special_tokens=True"):
        out, logged = trl_call(TRLReward(json_answers=True), tok, responses, answers, domains)
    assert out == [0.0] * 8 and logged["thinkvl/format_error_rate"] == [1.0]


def test_trl_reward_reports_missing_judgements_as_none_and_names_missing_columns(tiny):
    tok = tokenizer(tiny)
    reward = TRLReward(RewardSystem({"judge": {"enabled": False}}, judge=FailingJudge()), tokenizer=tok)
    out, logged = trl_call(reward, tok, [resp("a crimson sedan"), resp("3")], ["the red car", "3"], ["vqa", "counting"],
                           question=["What is it?", "How many?"])
    assert out == [None, 1.0]  # TRL >= 1.16 leaves a None out of the group's baseline
    assert logged["thinkvl/judge_failures"] == [1.0] and logged["thinkvl/accuracy"] == [1.0]
    with pytest.raises(KeyError, match=r"column 'solution'.*TRL passed the columns \['answer', 'domain'\]"):
        trl_call(TRLReward(tokenizer=tok, answer="solution"), tok, [resp("3")], ["3"], ["counting"])
    fixed = TRLReward(tokenizer=tok, domain="counting")  # one domain for a whole dataset
    assert fixed(prompts=["q"], completions=["x"], completion_ids=[tok(resp("3"), add_special_tokens=False)["input_ids"]],
                 answer=[3]) == [1.0]


# --- verl ---------------------------------------------------------------------------------------
class VerlItem:
    def __init__(self, batch: dict, non_tensor_batch: dict):
        self.batch, self.non_tensor_batch = batch, non_tensor_batch


class VerlBatch:
    """The parts of verl's ``DataProto`` its reward managers read."""

    def __init__(self, tok, prompts: list[str], responses: list[str], records: list[tuple], extra: list[dict]):
        p = [tok(x, add_special_tokens=False)["input_ids"] for x in prompts]
        r = [tok(x, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for x in responses]
        lp, lr, pad = max(map(len, p)), max(map(len, r)), tok.pad_token_id
        self.batch = {
            "prompts": torch.tensor([[pad] * (lp - len(x)) + x for x in p]),  # left-padded
            "responses": torch.tensor([x + [pad] * (lr - len(x)) for x in r]),  # right-padded
            "attention_mask": torch.tensor([[0] * (lp - len(a)) + [1] * len(a) + [1] * len(b) + [0] * (lr - len(b))
                                            for a, b in zip(p, r)]),
        }
        objects = lambda values: np.array(values + [None], dtype=object)[:-1]  # verl keeps object arrays
        self.non_tensor_batch = {"data_source": objects([x[0] for x in records]),
                                 "reward_model": objects([{"ground_truth": x[2], "style": "rule"} for x in records]),
                                 "extra_info": objects(extra)}

    def __len__(self) -> int:
        return len(self.non_tensor_batch["data_source"])

    def __getitem__(self, i: int) -> VerlItem:
        return VerlItem({k: v[i] for k, v in self.batch.items()}, {k: v[i] for k, v in self.non_tensor_batch.items()})


def naive_manager(data: VerlBatch, tok, compute_score_fn, reward_kwargs: dict) -> dict:
    """verl's NaiveRewardManager.__call__ (return_dict=True), with get_custom_reward_fn's kwargs."""
    reward_tensor = torch.zeros_like(data.batch["responses"], dtype=torch.float32)
    reward_extra_info = defaultdict(list)
    for i in range(len(data)):
        item = data[i]
        prompt_length = item.batch["prompts"].shape[-1]
        valid_response_length = item.batch["attention_mask"][prompt_length:].sum()
        valid_response_ids = item.batch["responses"][:valid_response_length]
        response_str = tok.decode(valid_response_ids, skip_special_tokens=True)
        ground_truth = item.non_tensor_batch["reward_model"]["ground_truth"]
        data_source = item.non_tensor_batch["data_source"]
        extra_info = item.non_tensor_batch.get("extra_info", {})
        extra_info["num_turns"] = None
        extra_info["rollout_reward_scores"] = {}
        score = compute_score_fn(data_source=data_source, solution_str=response_str, ground_truth=ground_truth,
                                 extra_info=extra_info, **reward_kwargs)
        if isinstance(score, dict):
            reward = score["score"]
            for key, value in score.items():
                reward_extra_info[key].append(value)
        else:
            reward = score
        reward_tensor[i, valid_response_length - 1] = reward
    return {"reward_tensor": reward_tensor, "reward_extra_info": reward_extra_info}


def batch_manager(data: VerlBatch, tok, compute_score_fn, reward_kwargs: dict) -> dict:
    """verl's BatchRewardManager.verify + __call__ (return_dict=True)."""
    prompt_len = data.batch["prompts"].shape[-1]
    lengths = data.batch["attention_mask"][:, prompt_len:].sum(dim=-1)
    responses = [tok.decode(data.batch["responses"][i][:lengths[i]], skip_special_tokens=True)
                 for i in range(len(data))]
    ground_truths = [data[i].non_tensor_batch["reward_model"].get("ground_truth", None) for i in range(len(data))]
    extras = data.non_tensor_batch["extra_info"]
    for i in range(len(data)):
        extras[i]["rollout_reward_scores"] = {}
    scores = compute_score_fn(data_sources=data.non_tensor_batch["data_source"], solution_strs=responses,
                              ground_truths=ground_truths, extra_infos=extras, **reward_kwargs)
    reward_tensor = torch.zeros_like(data.batch["responses"], dtype=torch.float32)
    reward_extra_info = defaultdict(list)
    for i in range(len(data)):
        score = scores[i]
        reward = score["score"] if isinstance(score, dict) else score
        if isinstance(score, dict):
            for key, value in score.items():
                reward_extra_info[key].append(value)
        reward_tensor[i, lengths[i].item() - 1] = reward
    return {"reward_tensor": reward_tensor, "reward_extra_info": reward_extra_info}


def verl_batch(tok):
    records = RECORDS + RECORDS
    responses = [resp(r[3]) for r in RECORDS] + [resp(r[4]) for r in RECORDS]
    prompts = [f"[gMASK]<sop><|user|>\nquestion {i}<|assistant|>\n" for i in range(len(records))]
    # counting's domain comes from its data_source (an alias in the reward YAML), the others' from extra_info
    extra = [{"index": i} if r[1] == "counting" else {"domain": r[1], "index": i} for i, r in enumerate(records)]
    return VerlBatch(tok, prompts, responses, records, extra)


def load_by_path(name: str):
    """verl's load_extern_object for a file path (verl.utils.import_utils.load_module)."""
    import importlib.util

    from thinkvl.rewards import adapters

    spec = importlib.util.spec_from_file_location(f"custom_module_{hash(adapters.__file__)}", adapters.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


@pytest.mark.parametrize("manager, name", [(naive_manager, "compute_score"), (batch_manager, "compute_score_batch")])
def test_verl_reward_managers_score_real_batches(verl_ready, reward_yaml, manager, name):
    tok = tokenizer(verl_ready)
    data = verl_batch(tok)
    fn = load_by_path(name)  # custom_reward_function.path=<the file>, .name=<name>
    out = manager(data, tok, fn, {"config": reward_yaml})
    rewards = out["reward_tensor"]
    lengths = data.batch["attention_mask"][:, data.batch["prompts"].shape[-1]:].sum(-1)
    assert rewards.sum(-1).tolist() == [1.0] * 4 + [0.0] * 4  # one reward per response ...
    assert all(rewards[i, lengths[i] - 1] == rewards[i].sum() for i in range(len(data)))  # ... on its last token
    info = out["reward_extra_info"]
    assert set(info) == {"score", "acc", "format_error", "judge_failed"}
    assert info["acc"] == [1.0] * 4 + [0.0] * 4 and info["format_error"] == [0.0] * 8


def test_verl_with_special_markers_warns_and_data_source_names_the_domain(tiny, reward_yaml):
    # markers that are special tokens are gone after verl's decode: format errors, and one warning
    tok = tokenizer(tiny)
    with pytest.warns(UserWarning, match="markers_not_special"):
        out = naive_manager(verl_batch(tok), tok, compute_score, {"config": reward_yaml})
    assert out["reward_tensor"].sum().item() == 0.0 and out["reward_extra_info"]["format_error"] == [1.0] * 8
    # data_source as the domain (no extra_info['domain']); ground truths arriving as numpy arrays
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = compute_score("counting", resp("3"), np.int64(3), None)
        assert got == {"score": 1.0, "acc": 1.0, "format_error": 0.0, "judge_failed": 0.0}
        box = compute_score_batch(["grounding"], [resp("[100,100,400,500]")], [np.array([[100, 100, 400, 500]])])
        assert box[0]["score"] == 1.0
    with pytest.raises(ValueError, match="unknown reward domain 'openai/gsm8k'"):
        compute_score("openai/gsm8k", resp("3"), "3", {})
