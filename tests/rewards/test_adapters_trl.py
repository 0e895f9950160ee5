"""Two steps of TRL's ``GRPOTrainer`` on the tiny GLM-4.1V, rewarded by thinkvl (``TRLReward``)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")


def test_grpo_trainer_trains_two_steps_on_thinkvl_rewards(tmp_path):
    import torch
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from thinkvl.data.synthetic import generate_world
    from thinkvl.model.factory import build_tiny, load_model, load_processor
    from thinkvl.model.inputs import collect_media
    from thinkvl.rewards import RewardSystem
    from thinkvl.rewards.adapters import TRLReward
    from thinkvl.rl.data import load_prompts

    generate_world(tmp_path / "world", per_domain=4, seed=0, domains=["counting", "grounding"], progress=False)
    model_dir = build_tiny(tmp_path / "tiny", seed=0)
    prompts = load_prompts(tmp_path / "world" / "rl_train.jsonl")[::4][:2]  # one of each domain
    assert {p.domain for p in prompts} == {"counting", "grounding"}
    rows = []
    for p in prompts:  # TRL's vision-language rows: {"type": "image"} placeholders + an images column
        messages = [{"role": m["role"], "content": [
            {"type": "image"} if part["type"] == "image" else {"type": "text", "text": part["text"]}
            for part in m["content"]]} for m in p.messages]
        rows.append({"prompt": messages, "images": collect_media(p.messages, p.base_dir).images,
                     "answer": json.dumps(p.answer), "domain": p.domain, "question": p.question})

    processor = load_processor(model_dir)
    calls = []

    class Recorded(TRLReward):
        def __call__(self, *args, **kwargs):
            out = super().__call__(*args, **kwargs)
            calls.append((kwargs["domain"], [r.domain for r in self.last_results], out))
            return out

    reward = Recorded(RewardSystem(), tokenizer=processor.tokenizer, json_answers=True)
    cfg = GRPOConfig(
        output_dir=str(tmp_path / "trl"), use_cpu=True, bf16=False, seed=0, max_steps=2,
        per_device_train_batch_size=4, gradient_accumulation_steps=1, generation_batch_size=4,
        num_generations=2, max_completion_length=12, temperature=1.0, top_p=1.0, beta=0.0,
        epsilon=0.2, epsilon_high=0.28, loss_type="grpo", learning_rate=1e-4, lr_scheduler_type="constant",
        gradient_checkpointing=False, logging_steps=1, report_to=[], save_strategy="no", disable_tqdm=True,
        dataloader_num_workers=0, log_completions=False)
    trainer = GRPOTrainer(model=load_model(model_dir), reward_funcs=[reward], args=cfg,
                          train_dataset=Dataset.from_list(rows), processing_class=processor)
    torch.manual_seed(0)
    trainer.train()

    assert trainer.state.global_step == 2
    assert len(calls) == 2  # one reward call per generation batch (one per step here)
    for domains, scored, out in calls:
        assert len(out) == 4 and scored == domains  # every completion scored in its own domain
        assert all(r is None or 0.0 <= r <= 1.0 for r in out)
    logs = {k for entry in trainer.state.log_history for k in entry}
    assert {"rewards/thinkvl/mean", "thinkvl/accuracy", "thinkvl/counting/format_error_rate"} <= logs
    # TRL trained on what thinkvl returned: its logged reward is each step's mean of our rewards (a
    # random model's are all 0 — format errors — so this run carries no signal; the learning
    # comparison with a trained model is bench/rl_learning_vs_trl.py)
    logged = [entry["reward"] for entry in trainer.state.log_history if "reward" in entry]
    assert logged == pytest.approx([sum(out) / len(out) for _, _, out in calls])
