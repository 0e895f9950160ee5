"""The report's protocol by default: think and direct both, the direct prompt per model
(``/nothink`` for hybrid models, an instruction otherwise), recorded in every result; and a
records file given to --bench as it is."""

import json

from typer.testing import CliRunner

from thinkvl.commands.eval import app
from thinkvl.eval.backends import Output
from thinkvl.eval.benchmarks import parse_bench
from thinkvl.eval.config import DirectSettings, EvalConfig
from thinkvl.eval.prompts import apply_mode
from thinkvl.eval.runner import run_config
from thinkvl.format import make_response

ARGS = ["generation.think_budget=8", "generation.answer_budget=4"]


class Recorder:
    """A backend that answers "A" and remembers the prompts it was shown."""

    name, batch_size = "fake", 8

    def __init__(self):
        self.prompts = []

    def model_fingerprint(self):
        return "fake-model"

    def info(self):
        return {"backend": "fake", "decoder": "none", "model": "fake"}

    def generate(self, requests, gen, mode):
        self.prompts += [r.prompt for r in requests]
        return [Output(make_response("A")) for _ in requests]

    def close(self):
        pass


def _last_text(prompt):
    return [p["text"] for p in prompt[-1]["content"] if p.get("type") == "text"][-1]


def test_both_modes_by_default_and_direct_prompt_per_model(eval_one, tmp_path):
    assert EvalConfig().modes == ["think", "direct"]
    prompt = [{"role": "user", "content": [{"type": "text", "text": "How many?"}]}]
    assert _last_text(apply_mode(prompt, "direct")).endswith("/nothink")
    brief = DirectSettings(style="instruction", instruction="Be brief.")
    plain = apply_mode(prompt, "direct", brief)
    assert _last_text(plain) == "How many?\nBe brief." and "/nothink" not in _last_text(plain)
    assert apply_mode(prompt, "think") == prompt

    rec = Recorder()
    cfg = EvalConfig(benches=[str(eval_one)], out=str(tmp_path / "run"),
                     direct=DirectSettings(style="instruction", instruction="Be brief."))
    results = run_config(cfg, None, backend=rec, progress=False)
    assert [r.mode for r in results] == ["think", "direct"]
    n = results[0].overall.n
    direct_prompts = rec.prompts[n:]
    assert all("/nothink" not in json.dumps(p) for p in rec.prompts)
    assert all(_last_text(p).endswith("Be brief.") for p in direct_prompts if p[-1]["content"])
    for r in results:  # every result records the same direct-prompt setting
        assert r.settings["direct_prompt"] == {"style": "instruction", "instruction": "Be brief."}


def test_bench_accepts_a_records_path(eval_one, world):
    assert parse_bench(str(eval_one)) == (eval_one.stem, "records", eval_one)
    assert parse_bench(str(world))[1] == "synthetic"
    assert parse_bench(f"mine={eval_one}")[0] == "mine"


def test_cli_default_is_think_and_direct_side_by_side(tiny_dir, eval_one, tmp_path):
    r = CliRunner().invoke(app, ["--model", str(tiny_dir), "--bench", str(eval_one),
                                 "--out", str(tmp_path / "o"), *ARGS])
    assert r.exit_code == 0, r.output
    assert "think − direct" in r.output
    saved = json.loads((tmp_path / "o" / "results.json").read_text())["results"]
    assert [x["mode"] for x in saved] == ["think", "direct"]
    assert saved[0]["bench"] == eval_one.stem
    assert "by_category" in saved[0] and "official" in saved[0]
