"""The vLLM adapter on a real GPU (skipped where there is no CUDA or no vllm)."""

import pytest

from evalkit import GEN

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.gpu


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_vllm_backend_matches_interface(tiny_dir, eval_one):
    pytest.importorskip("vllm")
    from thinkvl.eval import evaluate
    from thinkvl.eval.backends.vllm import VLLMBackend
    from thinkvl.eval.config import VLLMSettings

    backend = VLLMBackend(tiny_dir, settings=VLLMSettings(gpu_memory_utilization=0.3,
                                                         max_model_len=2048))
    try:
        result = evaluate(backend, None, eval_one, generation=GEN)
    finally:
        backend.close()
    assert result.overall.n == 8 and result.overall.failed == 0
    assert result.settings["decoder"].startswith("vllm")
