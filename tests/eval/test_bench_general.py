"""General VQA loaders on rows in their published hub schemas: MMStar, MMBench (circular),
AI2D, MM-Vet (parquet and the original JSON), HallusionBench."""

import pytest
from published import hub_parquet, img, kinds, png, texts, write_json

from thinkvl.eval.benchmarks import RowError, load_benchmark
from thinkvl.eval.scoring import Scorer
from thinkvl.format import make_response


@pytest.fixture(scope="module")
def scorer():
    s = Scorer()
    yield s
    s.close()


def test_mmstar(tmp_path, scorer):
    q = ("Which shape is shown?\nOptions: A: a red square, B: a blue circle, C: a green "
         "triangle, D: nothing")
    hub_parquet(tmp_path / "mmstar" / "val-00000-of-00001.parquet", [
        {"index": 0, "question": q, "image": img(), "answer": "A",
         "category": "coarse perception", "l2_category": "image scene and topic",
         "meta_info": {"source": "x", "split": "val", "image_path": "0.png"}},
        {"index": 1, "question": q, "image": img("blue"), "answer": "B",
         "category": "math", "l2_category": "geometry", "meta_info": None}])
    b = load_benchmark("mmstar", data_root=tmp_path)
    first, second = b.items
    assert kinds(first) == ["image", "text"] and first.metric == "choice"
    assert first.meta["choices"] == ["a red square", "a blue circle", "a green triangle",
                                     "nothing"]
    assert first.categories == {"category": "coarse perception",
                                "l2_category": "image scene and topic"}
    assert scorer.score(first, make_response("A")).correct
    assert scorer.score(second, make_response("a blue circle")).correct
    assert not scorer.score(second, make_response("C")).correct


def _mmbench_rows(with_answer=True):
    base = {"hint": "Look closely.", "A": "cat", "B": "dog", "C": "bird", "D": "fish",
            "category": "object_localization", "image": img(), "source": "x",
            "l2-category": "fine-grained perception", "comment": None, "split": "dev"}
    return [{**base, "index": 7, "question": "Which animal?",
             "answer": "B" if with_answer else None},
            {**base, "index": 8, "question": "Which one swims?", "C": "fish", "D": None,
             "answer": "C" if with_answer else None}]


def test_mmbench_builds_circular_rotations(tmp_path, scorer):
    hub_parquet(tmp_path / "en" / "dev-00000-of-00001.parquet", _mmbench_rows())
    b = load_benchmark(f"mmbench:{tmp_path / 'en'}")
    assert [i.id for i in b.items] == ["7", "1000007", "2000007", "3000007",
                                       "8", "1000008", "2000008"]  # 4 + 3 options
    rot1 = b.items[1]
    assert rot1.meta["choices"] == ["dog", "bird", "fish", "cat"] and rot1.answer == "A"
    assert "Hint: Look closely." in texts(rot1) and "A. dog" in texts(rot1)
    assert rot1.categories["l2-category"] == "fine-grained perception"
    assert all(scorer.score(i, make_response("dog")).correct for i in b.items[:4])
    assert not scorer.score(b.items[4], make_response("A")).correct


def test_mmbench_uses_published_copies_and_counts_test_rows(tmp_path):
    rows = _mmbench_rows()
    copy = {**rows[0], "index": 1000007, "A": "dog", "B": "bird", "C": "fish", "D": "cat",
            "answer": "A"}
    hub_parquet(tmp_path / "dev.parquet", rows[:1] + [copy])
    b = load_benchmark(f"mmbench:{tmp_path / 'dev.parquet'}")
    assert [(i.id, i.meta["circular_group"], i.meta["rotation"]) for i in b.items] == [
        ("7", 7, 0), ("1000007", 7, 1)]
    hub_parquet(tmp_path / "test" / "test.parquet", _mmbench_rows(with_answer=False) +
                _mmbench_rows()[:1])
    t = load_benchmark(f"mmbench:{tmp_path / 'test' / 'test.parquet'}")
    assert len(t.items) == 4 and sum(t.skipped.values()) == 2


def test_hub_snapshot_folder_picks_config_split_and_shards(tmp_path):
    """A snapshot of lmms-lab/MMBench: configs en/cn, splits dev/test, metadata beside them."""
    root = tmp_path / "MMBench"
    hub_parquet(root / "en" / "dev-00000-of-00001.parquet", _mmbench_rows()[:1])
    hub_parquet(root / "en" / "test-00000-of-00001.parquet", _mmbench_rows(with_answer=False))
    hub_parquet(root / "cn" / "dev-00000-of-00001.parquet", _mmbench_rows()[1:])
    write_json(root / "en" / "dev_annotations.json", [{"index": 7, "note": "metadata"}])
    (root / "README.md").write_text("---\nconfigs: []\n---\n")
    b = load_benchmark(f"mmbench:{root}")
    assert {i.meta["circular_group"] for i in b.items} == {7} and not b.skipped
    cn = load_benchmark(f"mmbench:{root / 'cn'}")
    assert {i.meta["circular_group"] for i in cn.items} == {8}


def test_ai2d(tmp_path, scorer):
    hub_parquet(tmp_path / "ai2d" / "test-00000.parquet", [
        {"question": "Which stage comes first?", "options": ["egg", "larva", "pupa", "adult"],
         "answer": "0", "image": img()}])
    (it,) = load_benchmark("ai2d", data_root=tmp_path).items
    assert it.answer == "A" and "A. egg" in texts(it)
    assert scorer.score(it, make_response("egg")).correct
    assert not scorer.score(it, make_response("B")).correct


def test_mmvet_parquet_and_original_json(tmp_path):
    hub_parquet(tmp_path / "mmvet" / "test.parquet", [
        {"question_id": "v1_0", "image": img(), "question": "What is x in the equation?",
         "answer": "-1<AND>-5", "image_source": "x", "capability": "ocr,math"}])
    (it,) = load_benchmark("mmvet", data_root=tmp_path).items
    assert it.metric == "mmvet" and it.categories == {"capability": ["ocr", "math"]}
    orig = tmp_path / "orig"
    (orig / "images").mkdir(parents=True)
    (orig / "images" / "v1_0.png").write_bytes(png())
    write_json(orig / "mm-vet.json", {"v1_0": {"imagename": "v1_0.png",
                                              "capability": ["rec", "know"],
                                              "question": "Who is this?", "answer": "Nobody"}})
    (o,) = load_benchmark(f"mmvet:{orig / 'mm-vet.json'}").items
    assert o.id == "v1_0" and kinds(o) == ["image", "text"]
    assert o.categories["capability"] == ["rec", "know"]


def test_hallusionbench(tmp_path, scorer):
    row = {"category": "VD", "subcategory": "illusion", "visual_input": "1", "set_id": "0",
           "figure_id": "1", "sample_note": "x", "question_id": "0",
           "question": "Is the top line longer?", "gt_answer_details": "They are equal.",
           "gt_answer": "0", "filename": "a.png", "image": img()}
    no_image = {**row, "category": "VS", "visual_input": "0", "figure_id": "0", "image": None}
    hub_parquet(tmp_path / "hb" / "image-00000.parquet", [row])
    hub_parquet(tmp_path / "hb" / "non_image-00000.parquet", [no_image])
    b = load_benchmark(f"hallusionbench:{tmp_path / 'hb'}")
    with_fig, text_only = sorted(b.items, key=lambda i: i.meta["category"])
    assert kinds(with_fig) == ["image", "text"] and kinds(text_only) == ["text"]
    assert scorer.score(with_fig, make_response("No")).correct
    assert not scorer.score(with_fig, make_response("Yes")).correct


def test_missing_field_names_file_row_and_field(tmp_path):
    hub_parquet(tmp_path / "val.parquet", [{"index": 0, "question": "q", "image": img()}])
    with pytest.raises(RowError, match=r"val\.parquet row 1: no field 'answer'"):
        load_benchmark(f"mmstar:{tmp_path / 'val.parquet'}")
