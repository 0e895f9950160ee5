"""Maths and MMMU-family loaders on rows in their published hub schemas: MathVision,
MathVerse, We-Math, DynaMath, LogicVista, MMMU-Pro (standard and vision)."""

import pytest
from published import hub_parquet, img, kinds, texts

from thinkvl.eval.benchmarks import CHOICE, NUMERIC, load_benchmark
from thinkvl.eval.results import official_numbers
from thinkvl.eval.scoring import Scorer
from thinkvl.format import make_response


@pytest.fixture(scope="module")
def scorer():
    s = Scorer()
    yield s
    s.close()


def test_mathvision(tmp_path, scorer):
    base = {"image": "images/1.jpg", "decoded_image": img(), "solution": None}
    hub_parquet(tmp_path / "mv" / "data" / "test-00000-of-00001.parquet", [
        {**base, "id": "1", "question": "Which net folds into a cube?",
         "options": ["A", "B", "C", "D", "E"], "answer": "C", "level": 2,
         "subject": "solid geometry"},
        {**base, "id": "2", "question": "What is the area?", "options": [],
         "answer": "\\frac{3}{2}", "level": 3, "subject": "metric geometry - area"}],
        images=("decoded_image",))
    b = load_benchmark(f"mathvision:{tmp_path / 'mv'}")
    mc, free = b.items
    assert mc.family == CHOICE and free.family == NUMERIC and mc.metric == "math"
    assert "(C) C" in texts(mc) and free.categories == {"subject": "metric geometry - area",
                                                        "level": "3"}
    assert scorer.score(mc, make_response("C")).correct
    assert scorer.score(free, make_response("1.5")).correct  # symbolic equivalence
    assert not scorer.score(free, make_response("2/3")).correct


def test_mathverse(tmp_path, scorer):
    q = "As shown, find the angle.\nChoices:\nA:30°\nB:45°\nC:60°\nD:90°"
    common = {"problem_index": "1", "image": img(), "query_cot": "...",
              "question_for_eval": q,
              "metadata": {"split": "testmini", "source": "GeoQA", "subject": "Plane Geometry",
                           "subfield": "Angle"}}
    hub_parquet(tmp_path / "mv" / "testmini" / "testmini-00000-of-00001.parquet", [
        {**common, "sample_index": "1", "problem_version": "Text Dominant", "question": q,
         "answer": "B", "question_type": "multi-choice",
         "query_wo": "Please directly answer the question.\n" + q},
        {**common, "sample_index": "2", "problem_version": "Vision Only", "question": "",
         "answer": "12", "question_type": "free-form",
         "query_wo": "According to the question shown in the image, answer."}])
    text_only = {**common, "sample_index": "1", "problem_version": "Text Only", "question": q,
                 "answer": "B", "question_type": "multi-choice", "query_wo": q, "image": None}
    hub_parquet(tmp_path / "mv" / "testmini_text_only" / "testmini_text_only-0.parquet",
                [text_only])  # a second config of the snapshot, whose ids repeat
    mc, free = load_benchmark(f"mathverse:{tmp_path / 'mv'}").items
    assert mc.meta["choices"] == ["30°", "45°", "60°", "90°"]
    assert mc.categories == {"version": "Text Dominant", "subject": "Plane Geometry"}
    assert scorer.score(mc, make_response("B")).correct
    assert scorer.score(free, make_response("12")).correct
    assert not scorer.score(free, make_response("13")).correct


def test_wemath_items_and_dimensions(tmp_path, scorer):
    rows = []
    for key, ans in (("2steps_1", "A"), ("2steps_2", "B"), ("2steps_multi", "C")):
        rows.append({"ID": "2steps_7", "split": "testmini", "knowledge concept": "Angles",
                     "question": f"Step {key}?", "option": "A. 1; B. 2; C. 3; D. 4",
                     "answer": ans, "image_path": img(), "key": key,
                     "question number": len(rows) + 1,
                     "knowledge concept description": "..."})
    hub_parquet(tmp_path / "wemath" / "testmini.parquet", rows, images=("image_path",))
    b = load_benchmark("wemath", data_root=tmp_path)
    assert [i.meta["key"] for i in b.items] == ["2steps_1", "2steps_2", "2steps_multi"]
    assert b.items[0].meta["choices"] == ["1", "2", "3", "4"] and kinds(b.items[0])[0] == "image"
    preds = ["A", "B", "D"]  # both steps right, the composite wrong: inadequate generalisation
    samples = [scorer.score(i, make_response(p)) for i, p in zip(b.items, preds)]
    assert [s.correct for s in samples] == [True, True, False]
    got = official_numbers(b.items, samples)
    assert got["IG"] == 1.0 and got["score_strict"] == 0.5


def test_dynamath_variants(tmp_path, scorer):
    for v, truth in ((1, "2.5"), (2, "3.5")):
        hub_parquet(tmp_path / "dm" / f"sample_variant{v}" / "test-00000.parquet", [
            {"id": 7, "question": "What is f(2)?", "image": "7.png", "decoded_image": img(),
             "ground_truth": truth, "answer_type": "float", "subject": "algebra",
             "knowledge_level": "high school"}], images=("decoded_image",))
    b = load_benchmark(f"dynamath:{tmp_path / 'dm'}")
    assert [i.id for i in b.items] == ["sample_variant1-7", "sample_variant2-7"]
    samples = [scorer.score(i, make_response(p)) for i, p in zip(b.items, ["2.5", "3.0"])]
    got = official_numbers(b.items, samples)
    assert got["average_case"] == 0.5 and got["worst_case"] == 0.0


def test_logicvista_letter_sets(tmp_path, scorer):
    hub_parquet(tmp_path / "lv" / "test.parquet", [
        {"question": "Which two are odd?\n(A) 1 (B) 2 (C) 3 (D) 4", "answer": "A, C",
         "image": img(), "skill": ["inductive"]}])
    (it,) = load_benchmark(f"logicvista:{tmp_path / 'lv'}").items
    assert it.answer == ["A", "C"] and it.categories == {"skill": ["inductive"]}
    assert scorer.score(it, make_response("A, C")).correct
    assert not scorer.score(it, make_response("A")).correct


def test_mmmu_pro_standard_and_vision(tmp_path, scorer):
    none = {f"image_{n}": None for n in range(2, 8)}
    hub_parquet(tmp_path / "pro" / "standard (10 options)" / "test-00000.parquet", [
        {"id": "test_Art_1", "question": "<image 1> Which style?",
         "options": str([f"style {k}" for k in range(10)]), "explanation": "",
         "image_1": img(), **none, "img_type": "['Paintings']", "answer": "J",
         "topic_difficulty": "Hard", "subject": "Art"}],
        images=tuple(f"image_{n}" for n in range(1, 8)))
    hub_parquet(tmp_path / "pro" / "vision" / "test-00000.parquet", [
        {"id": "test_Physics_2", "image": img(), "options": str(["1 m", "2 m", "3 m", "4 m"]),
         "answer": "B", "subject": "Physics"}])
    (std,) = load_benchmark(f"mmmu_pro:{tmp_path / 'pro'}").items
    assert "(J) style 9" in texts(std) and std.categories["discipline"] == "Art and Design"
    assert scorer.score(std, make_response("J")).correct
    (vis,) = load_benchmark(f"mmmu_pro_vision:{tmp_path / 'pro'}").items
    assert kinds(vis) == ["image", "text"] and vis.meta["choices"][1] == "2 m"
    assert scorer.score(vis, make_response("(B) 2 m")).correct
    assert not scorer.score(vis, make_response("C")).correct
