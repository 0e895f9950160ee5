"""Chart and OCR loaders on rows in their published hub schemas: ChartQA (both published
layouts), ChartMuseum (images in the repository's images/ folder), CharXiv reasoning,
OCRBench, OCRBench v2 (unsupported task types counted, not silently dropped)."""

import pytest
from published import hub_parquet, img, kinds, png, texts

from thinkvl.eval.benchmarks import load_benchmark
from thinkvl.eval.results import official_numbers
from thinkvl.eval.scoring import Scorer
from thinkvl.format import make_response


@pytest.fixture(scope="module")
def scorer():
    s = Scorer()
    yield s
    s.close()


def test_chartqa_both_layouts(tmp_path, scorer):
    hub_parquet(tmp_path / "m4" / "data" / "test-00000-of-00001.parquet", [
        {"image": img(), "query": "What is the peak value?", "label": ["45"],
         "human_or_machine": 0}])
    hub_parquet(tmp_path / "lmms" / "test.parquet", [
        {"type": "augmented_test", "question": "Which bar is blue?", "answer": "Apples",
         "image": img()}])
    (m4,) = load_benchmark(f"chartqa:{tmp_path / 'm4'}").items
    (lm,) = load_benchmark(f"chartqa:{tmp_path / 'lmms'}").items
    assert m4.answer == "45" and m4.group == "human_test" and lm.group == "augmented_test"
    assert scorer.score(m4, make_response("46.5")).correct  # within 5%
    assert not scorer.score(m4, make_response("48")).correct
    assert scorer.score(lm, make_response("apples")).correct
    said = scorer.score(m4, "<think>x</think><answer>The peak is 47 in 2019, so 47.</answer>")
    assert said.correct and said.method == "rule"


def test_chartmuseum_images_folder(tmp_path, scorer):
    root = tmp_path / "ChartMuseum"
    (root / "images").mkdir(parents=True)
    (root / "images" / "a1.png").write_bytes(png())
    hub_parquet(root / "data" / "test-00000-of-00001.parquet", [
        {"image": "images/a1.png", "question": "Which fruit sold most?",
         "answer": "Apples", "reasoning_type": "visual", "source": "x", "hash": "a1"}],
        images=())  # published as a path string into images/
    (it,) = load_benchmark(f"chartmuseum:{root}").items
    assert it.prompt[0]["content"][0]["image"] == str(root / "images" / "a1.png")
    assert it.metric == "exact_judge" and it.categories == {"reasoning_type": "visual"}
    assert scorer.score(it, make_response("apples")).correct
    wrong = scorer.score(it, make_response("Pears"))
    assert not wrong.correct and "rules_only" in wrong.flags  # no judge configured here


def test_charxiv_reasoning(tmp_path, scorer):
    hub_parquet(tmp_path / "charxiv" / "validation-00000.parquet", [
        {"image": img(), "category": "cs", "year": "22", "original_figure_path": "x.jpg",
         "original_id": "1", "figure_path": "images/0.jpg", "num_subplots": 1,
         "subplot_row": None, "subplot_col": None, "subplot_loc": None,
         **{f"descriptive_q{k}": k for k in range(1, 5)},
         **{f"descriptive_a{k}": "x" for k in range(1, 5)},
         "reasoning_q": "Which line is highest at x=3?", "reasoning_q_source": 1,
         "reasoning_a": "Ours", "reasoning_a_type": 1}])
    (it,) = load_benchmark("charxiv", data_root=tmp_path).items
    assert it.group == "text-in-chart" and "copied exactly" in texts(it)
    assert scorer.score(it, make_response("ours")).correct


def test_ocrbench(tmp_path, scorer):
    hub_parquet(tmp_path / "ocrbench" / "test.parquet", [
        {"dataset": "IIIT5K", "question": "what is written in the image?",
         "question_type": "Regular Text Recognition", "answer": ["Coffee"], "image": img()},
        {"dataset": "HME100k", "question": "Write out the expression.",
         "question_type": "Handwritten Mathematical Expression Recognition",
         "answer": ["x^{2}"], "image": img()}])
    b = load_benchmark("ocrbench", data_root=tmp_path)
    text, hme = b.items
    assert text.categories["question_type"] == "Regular Text Recognition"
    said = scorer.score(text, "<think>x</think><answer>It reads COFFEE on the cup.</answer>")
    assert said.correct and said.method == "rule"  # containment over the whole answer
    assert scorer.score(hme, make_response("x ^ {2}")).correct
    samples = [scorer.score(i, make_response("nothing")) for i in b.items]
    assert official_numbers(b.items, samples)["score_out_of_n"] == 0.0


def test_ocrbench_v2_counts_unsupported_types(tmp_path, scorer):
    hub_parquet(tmp_path / "v2" / "test.parquet", [
        {"id": 0, "dataset_name": "x", "question": "What is the title?",
         "type": "cognition VQA en", "answers": ["Moon"], "image": img(), "eval": None},
        {"id": 1, "dataset_name": "x", "question": "Convert the table to HTML.",
         "type": "table parsing en", "answers": ["<table></table>"], "image": img(),
         "eval": None}])
    b = load_benchmark(f"ocrbench_v2:{tmp_path / 'v2'}")
    assert [i.id for i in b.items] == ["0"] and kinds(b.items[0]) == ["image", "text"]
    assert list(b.skipped.values()) == [1] and "table parsing en" in next(iter(b.skipped))
    assert scorer.score(b.items[0], make_response("the moon")).correct
