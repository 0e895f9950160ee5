import json

import pytest

from thinkvl.eval.baselines import best_constant_accuracy
from thinkvl.format import make_response


def _sft(domain, final):
    return {"id": f"{domain}-{final}", "domain": domain, "messages": [
        {"role": "user", "content": "q"}, {"role": "assistant", "content": make_response(final, think="t")}]}


def test_best_constant_answer_is_scored_per_domain(tmp_path):
    sft = tmp_path / "sft.jsonl"
    rows = [_sft("counting", "3")] * 5 + [_sft("counting", "2")] * 2 + [_sft("ocr", "K")] * 3
    sft.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    evals = [{"domain": "counting", "answer": a} for a in (3, 3, 2, 4)]
    out = best_constant_accuracy(sft, evals)
    assert out == {"counting": pytest.approx(0.5)}  # "3" beats "2"; ocr has no eval records
    # a rarer answer wins when it is the better constant on the held-out set
    assert best_constant_accuracy(sft, [{"domain": "counting", "answer": 2}])["counting"] == 1.0
