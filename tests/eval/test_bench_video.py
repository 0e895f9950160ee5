"""Video loaders on rows in their published layouts (tiny generated videos): Video-MME with
and without subtitles, MVBench (json per task, videos in per-task folders), LVBench (the
official nested jsonl), VideoMMMU, MMVU."""

import pytest
from published import hub_parquet, img, kinds, texts, write_json, write_jsonl, write_video

from thinkvl.eval.benchmarks import CHOICE, OPEN, RowError, load_benchmark
from thinkvl.eval.scoring import Scorer
from thinkvl.format import make_response


@pytest.fixture(scope="module")
def scorer():
    s = Scorer()
    yield s
    s.close()


def test_videomme_with_and_without_subtitles(tmp_path, scorer):
    root = tmp_path / "videomme"
    write_video(root / "videos" / "fFjv93ACGo8.mp4")
    (root / "subtitle").mkdir()
    (root / "subtitle" / "fFjv93ACGo8.srt").write_text(
        "1\n00:00:01,000 --> 00:00:02,000\n<i>Hello there</i>\n\n2\n00:00:03,000 --> "
        "00:00:04,000\nThe pot is red.\n")
    hub_parquet(root / "videomme" / "test-00000-of-00001.parquet", [
        {"video_id": "001", "duration": "short", "domain": "Knowledge",
         "sub_category": "Humanity & History", "url": "https://example.invalid",
         "videoID": "fFjv93ACGo8", "question_id": "001-1", "task_type": "Counting Problem",
         "question": "What colour is the pot?",
         "options": ["A. blue", "B. red", "C. green", "D. black"], "answer": "B"}])
    (plain,) = load_benchmark("videomme", data_root=tmp_path).items
    (sub,) = load_benchmark(f"videomme_sub:{root}").items
    assert kinds(plain) == ["video", "text"] and "subtitles" not in texts(plain)
    assert "Hello there\nThe pot is red." in texts(sub) and "-->" not in texts(sub)
    assert sub.bench == "videomme_sub" and plain.categories["task_type"] == "Counting Problem"
    assert scorer.score(sub, make_response("B")).correct
    assert not scorer.score(plain, make_response("blue")).correct


def test_mvbench_tasks_and_folders(tmp_path, scorer):
    root = tmp_path / "MVBench"
    write_video(root / "video" / "clevrer" / "video_validation" / "video_10000.mp4")
    write_json(root / "json" / "moving_direction.json", [
        {"video": "video_10000.mp4", "question": "Which way does the cube move?",
         "candidates": ["left", "right", "up"], "answer": "right"}])
    write_json(root / "json" / "action_count.json", [
        {"video": "missing.mp4", "question": "How many?", "candidates": ["1", "2"],
         "answer": "2"}])
    with pytest.raises(RowError, match=r"action_count\.json row 1: video 'missing\.mp4' not found"):
        load_benchmark(f"mvbench:{root}")
    (root / "json" / "action_count.json").unlink()
    (it,) = load_benchmark(f"mvbench:{root}").items
    assert it.answer == "B" and it.categories == {"task": "moving_direction"}
    assert "(B) right" in texts(it) and it.prompt[0]["content"][0]["video"].endswith(
        "video_validation/video_10000.mp4")
    assert scorer.score(it, make_response("(B) right")).correct


def test_lvbench_nested_meta(tmp_path, scorer):
    write_video(tmp_path / "lv" / "videos" / "abc123.mp4")
    write_jsonl(tmp_path / "lv" / "video_info.meta.jsonl", [
        {"key": "abc123", "type": "documentary", "qa": [
            {"uid": "1", "question": "What happens first?\n(A) rain\n(B) sun\n(C) snow\n(D) fog",
             "answer": "C", "question_type": ["event understanding"],
             "time_reference": "00:10-00:20"}]}])
    (it,) = load_benchmark(f"lvbench:{tmp_path / 'lv'}").items
    assert it.meta["choices"] == ["rain", "sun", "snow", "fog"]
    assert it.categories == {"question_type": ["event understanding"],
                             "video_type": "documentary"}
    assert scorer.score(it, make_response("snow")).correct


def test_videommmu_tracks(tmp_path, scorer):
    root = tmp_path / "vm"
    write_video(root / "videos" / "adaptation_Art_1.mp4")
    hub_parquet(root / "Adaptation" / "test-00000.parquet", [
        {"id": "adaptation_Art_1", "question": "Which colour?",
         "options": ["red", "blue", "green"], "answer": "B",
         "question_type": "multiple-choice", "link_selected": "x", "image": img()}])
    (it,) = load_benchmark(f"videommmu:{root}").items
    assert kinds(it) == ["video", "image", "text"] and it.metric == "mmmu"
    assert it.categories == {"track": "Adaptation", "subject": "Art",
                             "discipline": "Art and Design"}
    assert scorer.score(it, make_response("B")).correct


def test_mmvu_choice_and_open(tmp_path, scorer):
    root = tmp_path / "mmvu"
    write_video(root / "videos" / "Chemistry" / "1.mp4")
    meta = {"subject": "Chemistry", "textbook": "x"}
    hub_parquet(root / "validation.parquet", [
        {"id": "a", "video": "https://huggingface.co/x/videos/Chemistry/1.mp4",
         "question": "Which gas?", "choices": {"A": "O2", "B": "H2", "C": "N2", "D": "Ar",
                                              "E": "He"},
         "answer": "B", "question_type": "multiple-choice", "metadata": meta},
        {"id": "b", "video": "videos/Chemistry/1.mp4", "question": "Name the gas.",
         "choices": {"A": "", "B": "", "C": "", "D": "", "E": ""}, "answer": "hydrogen",
         "question_type": "open-ended", "metadata": meta}], images=())
    mc, open_ = load_benchmark(f"mmvu:{root}").items
    assert mc.family == CHOICE and open_.family == OPEN and open_.metric == "exact_judge"
    assert scorer.score(mc, make_response("H2")).correct
    assert scorer.score(open_, make_response("Hydrogen")).correct
    assert not scorer.score(open_, make_response("helium")).correct
