"""MMLongBench-Doc on rows in its published schema, with pre-rendered page images."""

import pytest
from published import hub_parquet, kinds, png

from thinkvl.eval.benchmarks import RowError, load_benchmark
from thinkvl.eval.results import official_numbers
from thinkvl.eval.scoring import Scorer
from thinkvl.format import make_response


def test_mmlongbench_doc(tmp_path):
    root = tmp_path / "MMLongBench-Doc"
    pages = root / "documents" / "report2023"
    pages.mkdir(parents=True)
    for n in (10, 2, 1):  # page order comes from the numbers, not the file listing
        (pages / f"page_{n}.png").write_bytes(png(size=(20, 28)))
    base = {"doc_id": "report2023.pdf", "doc_type": "Research report", "evidence_pages": "[2]",
            "evidence_sources": "['Chart']"}
    hub_parquet(root / "data" / "train-00000-of-00001.parquet", [
        {**base, "question": "How many participants?", "answer": "120",
         "answer_format": "Int"},
        {**base, "question": "Who funded it?", "answer": "Not answerable",
         "answer_format": "None", "evidence_pages": "[]", "evidence_sources": "[]"}], images=())
    b = load_benchmark(f"mmlongbench_doc:{root}")
    count, unanswerable = b.items
    assert kinds(count) == ["image"] * 3 + ["text"]
    assert [p["image"].rsplit("_", 1)[1] for p in count.prompt[0]["content"][:3]] == [
        "1.png", "2.png", "10.png"]
    assert count.categories == {"evidence": "single-page", "source": ["Chart"],
                                "doc_type": "Research report"}
    assert unanswerable.group == "unanswerable"
    scorer = Scorer()
    try:
        samples = [scorer.score(count, make_response("120 participants")),
                   scorer.score(unanswerable, make_response("Not answerable"))]
        assert [s.correct for s in samples] == [True, True]
        assert official_numbers(b.items, samples)["f1"] == 1.0
        assert not scorer.score(count, make_response("12")).correct
    finally:
        scorer.close()
    hub_parquet(tmp_path / "other" / "train.parquet", [{**base, "doc_id": "missing.pdf",
                                                        "question": "q", "answer": "1",
                                                        "answer_format": "Int"}], images=())
    with pytest.raises(RowError, match="document 'missing.pdf' has no pages"):
        load_benchmark(f"mmlongbench_doc:{tmp_path / 'other'}")
