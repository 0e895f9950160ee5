"""`thinkvl eval --backend vllm` and `--backend openai` against a real vLLM server (its CPU
build, on 127.0.0.1) against the HF backend's greedy predictions; the same server judges for the
reward system."""

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from thinkvl.commands.eval import app

pytest.importorskip("vllm")

ARGS = ["generation.think_budget=12", "generation.answer_budget=6"]


def predictions(out) -> dict[str, tuple]:
    rows = {}
    for path in sorted(out.rglob("predictions*.jsonl")):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            rows[(rec.get("mode"), rec["id"])] = (rec["text"], rec.get("forced"), rec.get("truncated"))
    return rows


def run_eval(model, eval_file, out, *extra):
    r = CliRunner().invoke(app, ["--model", str(model), "--bench", f"syn=records:{eval_file}",
                                 "--mode", "both", "--out", str(out), *ARGS, *extra])
    assert r.exit_code == 0, r.output
    return predictions(out)


@pytest.fixture(scope="module")
def hf_predictions(vllm_tiny, eval_file, tmp_path_factory):
    return run_eval(vllm_tiny["path"], eval_file, tmp_path_factory.mktemp("hf"))


def test_vllm_backend_gives_hf_greedy_predictions(vllm_tiny, eval_file, hf_predictions, tmp_path):
    got = run_eval(vllm_tiny["path"], eval_file, tmp_path / "vllm", "--backend", "vllm",
                   "backend.vllm.max_model_len=4096", "backend.vllm.cpu_kv_cache_gib=0.25")
    assert len(hf_predictions) == 32 and got == hf_predictions  # 16 items × think/direct
    assert any(forced for _, forced, _ in got.values())
    results = json.loads((tmp_path / "vllm" / "results.json").read_text())["results"]
    assert results[0]["settings"]["decoder"].startswith("vllm")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(vllm_tiny):
    """``vllm serve`` (its Python entry point) on 127.0.0.1, a real OpenAI-compatible server."""
    port = _free_port()
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(vllm_tiny["path"]),
           "--served-model-name", "tiny", "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32",
           "--enforce-eager", "--max-model-len", "4096", "--kv-cache-memory-bytes", str(256 << 20),
           "--limit-mm-per-prompt", json.dumps({"image": 8, "video": 1}),
           "--media-io-kwargs", json.dumps({"video": {"fps": 2.0}})]  # the frames' rate
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"vLLM server exited: {proc.stderr.read()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            raise TimeoutError("vLLM server did not come up in 300 s")
        yield url + "/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_openai_backend_on_a_vllm_server_gives_hf_greedy_predictions(vllm_tiny, vllm_server, eval_file,
                                                                     hf_predictions, tmp_path):
    from thinkvl.model.factory import load_model, load_processor
    from thinkvl.model.suppress import never_sample_ids

    model, processor = load_model(vllm_tiny["path"]), load_processor(vllm_tiny["path"])
    banned = processor.tokenizer.convert_ids_to_tokens(never_sample_ids(model.config, model.generation_config))
    got = run_eval(vllm_server, eval_file, tmp_path / "api", "--backend", "openai",
                   f"backend.openai.bad_words={json.dumps(banned)}", "backend.openai.api_key_env=null")
    assert got.keys() == hf_predictions.keys()
    # A chat API returns text, and force-answering continues from that text (vLLM's
    # continue_final_message): the server re-tokenises the partial reply, and a random model's
    # sampled byte-level tokens are rarely the canonical tokenisation of their text, so after the
    # forced </think><answer> the continuations part (the rollout engine and the vllm backend
    # continue from token ids instead). Up to there — phase one, over images and videos — the
    # server decodes HF's tokens; the think text differs at most by the undecodable tail of a
    # split multi-byte character, which the server's detokeniser holds back.
    assert any(k[1].startswith("video") for k in got)
    for key, (text, forced, truncated) in hf_predictions.items():
        assert (got[key][1], got[key][2]) == (forced, truncated), key
        head = got[key][0].split("</think>")[0]
        assert text.split("</think>")[0].rstrip("\ufffd") == head.rstrip("\ufffd"), key


def test_vllm_server_judges_for_the_reward_system(vllm_server, tmp_path):
    """The reward system's LLM judge against the served (random tiny) model: the request goes
    through the real server; the tiny model cannot say CORRECT/INCORRECT, so the judgement is
    reported missing with the reason, never read as a 0."""
    from thinkvl.rewards import RewardSystem

    rs = RewardSystem({"judge": {"enabled": True, "base_url": vllm_server, "model": "tiny", "max_tokens": 4,
                                 "max_retries": 1, "backoff_s": 0.01, "timeout_s": 120,
                                 "cache_dir": str(tmp_path / "cache")}})
    r = rs.score("<think>look</think><answer><|begin_of_box|>towards the left side<|end_of_box|></answer>",
                 "left", "vqa", question="Where is the cat?")
    assert r.missing and "judge_failed" in r.flags
    assert "expected CORRECT or INCORRECT, got" in r.reason, r.reason  # the model's own reply


def test_openai_requests_forbid_placeholders_on_vllm_servers():
    """A sampled vision placeholder breaks a continued prompt: vLLM servers get bad_words."""
    from thinkvl.eval.backends.openai import GLM_PLACEHOLDERS, OpenAIBackend
    from thinkvl.eval.config import GenerationSettings, OpenAISettings

    gen = GenerationSettings(temperature=0.0)
    body = OpenAIBackend("http://127.0.0.1:9")._body("m", [], 8, gen)
    assert body["bad_words"] == list(GLM_PLACEHOLDERS) and body["skip_special_tokens"] is False
    plain = OpenAIBackend("http://127.0.0.1:9", OpenAISettings(server_extensions=False))._body("m", [], 8, gen)
    assert "bad_words" not in plain
