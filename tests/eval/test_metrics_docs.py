"""MMLongBench-Doc: per-format scores, accuracy and the generalised F1."""

import pytest
from metrickit import S, item

from thinkvl.eval.metrics import get_metric
from thinkvl.eval.metrics.docs import doc_score

# -- MMLongBench-Doc -----------------------------------------------------------------------------

@pytest.mark.parametrize("gold, pred, fmt, want", [
    ("5", "5 pages", "Int", 1.0), ("5", "6", "Int", 0.0),
    ("45%", "0.45", "Float", 1.0), ("12.5", "12.6", "Float", 1.0), ("12.5", "13", "Float", 0.0),
    ("2019-01-02", "2019-01-03", "Str", 0.0),  # dates compare exactly
    ("['a', 'b']", "b, a", "List", 1.0),
    ("Not answerable", "not answerable", "None", 1.0),
])
def test_mmlongbench_formats(gold, pred, fmt, want):
    assert doc_score(gold, pred, fmt) == pytest.approx(want)


def test_mmlongbench_anls_and_f1():
    assert doc_score("New York", "new york city", "Str") == pytest.approx(1 - 5 / 13)
    assert doc_score("New York", "Boston", "Str") == 0.0
    ans = item("5", "mmlongbench_doc", answer_format="Int")
    none = item("Not answerable", "mmlongbench_doc", answer_format="None")
    got = get_metric("mmlongbench_doc").aggregate([
        (ans, S(True, 1.0, prediction="5")), (ans, S(False, 0.0, prediction="Not answerable")),
        (ans, S(False, 0.0, prediction="Not answerable")),
        (none, S(True, 1.0, prediction="Not answerable")), (none, S(False, 0.0, prediction="7"))])
    assert got["accuracy"] == 0.4
    # recall over the 3 answerable questions, precision over the 2 answers given
    assert got["recall"] == pytest.approx(1 / 3, abs=1e-6) and got["precision"] == 0.5
    assert got["f1"] == pytest.approx(0.4, abs=1e-6)
