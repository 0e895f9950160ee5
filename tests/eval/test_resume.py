"""Interrupt an evaluation, resume it without recomputing finished samples; settings changes
invalidate only the predictions they affect."""

import json

import pytest

from evalkit import GEN
from thinkvl.eval import evaluate
from thinkvl.eval.backends.hf import HFBackend
from thinkvl.eval.config import VisionSettings
from thinkvl.eval.store import PredictionStore


class Spy:
    """Delegates to a backend, records what it was asked to generate, can crash mid-run."""

    def __init__(self, inner, crash_on_call: int | None = None):
        self.inner, self.crash_on_call = inner, crash_on_call
        self.name, self.batch_size = inner.name, inner.batch_size
        self.calls: list[int] = []

    def model_fingerprint(self):
        return self.inner.model_fingerprint()

    def info(self):
        return self.inner.info()

    def generate(self, requests, gen, mode):
        if self.crash_on_call is not None and len(self.calls) + 1 == self.crash_on_call:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-run
        self.calls.append(len(requests))
        return self.inner.generate(requests, gen, mode)

    def close(self):
        pass


@pytest.fixture
def backend(tiny):
    model, processor = tiny
    return lambda vision=None: HFBackend(model, processor, vision or VisionSettings(), batch_size=2)


def test_another_model_gets_its_own_predictions(tiny, eval_one, tmp_path):
    import copy

    import torch

    model, processor = tiny
    evaluate(model, processor, eval_one, generation=GEN, out_dir=tmp_path)
    assert evaluate(model, processor, eval_one, generation=GEN, out_dir=tmp_path).generated == 0
    trained = copy.deepcopy(model)
    with torch.no_grad():
        trained.lm_head.weight.add_(0.01)  # an RL step changed the weights in-process
    assert evaluate(trained, processor, eval_one, generation=GEN, out_dir=tmp_path).generated == 8


def test_interrupted_run_resumes_per_sample(backend, eval_one, tmp_path):
    out = tmp_path / "run"
    crashing = Spy(backend(), crash_on_call=3)
    with pytest.raises(KeyboardInterrupt):
        evaluate(crashing, None, eval_one, generation=GEN, out_dir=out)
    assert crashing.calls == [2, 2]
    assert len(PredictionStore(out / "predictions.jsonl")) == 4  # finished chunks were kept
    with open(out / "predictions.jsonl", "a") as f:
        f.write('{"key": "torn')  # a write cut off by the crash
    resumed = Spy(backend())
    result = evaluate(resumed, None, eval_one, generation=GEN, out_dir=out)
    assert resumed.calls == [2, 2] and result.generated == 4  # only the 4 missing samples
    assert result.overall.n == 8 and result.overall.failed == 0
    fresh = evaluate(backend(), None, eval_one, generation=GEN)
    assert [s.text for s in result.samples] == [s.text for s in fresh.samples]
    again = Spy(backend())
    assert evaluate(again, None, eval_one, generation=GEN, out_dir=out).generated == 0
    assert again.calls == []
    lines = (out / "predictions.jsonl").read_text().splitlines()
    assert sum(1 for l in lines if l.startswith('{"key": "torn')) == 1
    assert len([json.loads(l) for l in lines if not l.startswith('{"key": "torn')]) == 8
    saved = json.loads((out / "results.json").read_text())["results"][0]
    assert saved["overall"]["n"] == 8 and "invalid_rate" in saved["overall"]


def test_settings_invalidate_only_what_they_affect(backend, eval_one, tmp_path):
    out = tmp_path / "run"
    evaluate(backend(), None, eval_one, generation=GEN, out_dir=out)
    video = sum(1 for l in eval_one.read_text().splitlines() if '"type": "video"' in l)
    assert video == 1
    # a new video cap: only the video items are regenerated
    spy = Spy(backend(VisionSettings(video_token_cap=20000)))
    r = evaluate(spy, None, eval_one, generation=GEN, out_dir=out,
                 vision=VisionSettings(video_token_cap=20000))
    assert r.generated == video
    # direct mode never reuses think-mode predictions, and leaves them valid
    direct = evaluate(backend(), None, eval_one, mode="direct", generation=GEN, out_dir=out)
    assert direct.generated == 8
    assert evaluate(backend(), None, eval_one, generation=GEN, out_dir=out).generated == 0
    # a decoding change invalidates every prediction of that mode
    longer = GEN.model_copy(update={"answer_budget": GEN.answer_budget + 1})
    assert evaluate(backend(), None, eval_one, generation=longer, out_dir=out).generated == 8
    # scoring settings never invalidate predictions
    from thinkvl.eval.scoring import Scorer

    assert evaluate(backend(), None, eval_one, generation=GEN, out_dir=out,
                    scorer=Scorer(anls_threshold=0.9)).generated == 0


def test_in_process_eval_leaves_model_and_rng_as_found(tiny, eval_one):
    import torch

    model, processor = tiny
    model.train()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    evaluate(model, processor, eval_one, generation=GEN, model_id="rng")
    assert torch.equal(torch.rand(3), expected)  # the caller's RNG stream is untouched
    assert model.training  # train mode restored
    model.eval()


def test_rl_style_call_with_record_dicts_and_rollout_settings(tiny, eval_one):
    """RL evaluates with its rollout section (a GenerationSettings with engine fields): only the
    decoding fields key and record the predictions."""
    from thinkvl.model.settings import GenerationSettings
    from thinkvl.rl.config import RolloutConfig

    model, processor = tiny
    records = [json.loads(line) for line in eval_one.read_text().splitlines()]
    rollout = RolloutConfig(think_budget=GEN.think_budget, answer_budget=GEN.answer_budget, group_size=4, seed=3)
    r = evaluate(model, processor, records, generation=rollout, base_dir=eval_one.parent)
    assert r.overall.n == 8 and set(r.by_domain) == {rec["domain"] for rec in records}
    assert all(0.0 <= m.invalid_rate <= 1.0 and m.n == 1 for m in r.by_domain.values())
    assert r.settings["generation"]["temperature"] == 1.0 and "group_size" not in r.settings["generation"]
    same = evaluate(model, processor, eval_one, generation=GenerationSettings(
        think_budget=GEN.think_budget, answer_budget=GEN.answer_budget, temperature=1.0, seed=3))
    assert [s.text for s in r.samples] == [s.text for s in same.samples]
