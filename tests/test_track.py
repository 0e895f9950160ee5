import json

from thinkvl.track import Tracker, flatten, read_metrics


def test_jsonl_and_tensorboard_sinks(tmp_path):
    with Tracker(tmp_path, sinks=("jsonl", "tensorboard")) as tr:
        tr.log(1, {"loss": 1.5, "counting": {"reward": 0.25}})
        tr.log(2, {"loss": 1.0})
    records = read_metrics(tmp_path)
    assert [r["step"] for r in records] == [1, 2]
    assert records[0]["counting"]["reward"] == 0.25
    assert any((tmp_path / "tensorboard").iterdir())


def test_resume_drops_steps_after_checkpoint_and_torn_lines(tmp_path):
    with Tracker(tmp_path, sinks=("jsonl",)) as tr:
        for step in range(1, 5):
            tr.log(step, {"loss": float(step)})
    with (tmp_path / "metrics.jsonl").open("a") as f:
        f.write('{"step": 5, "lo')  # a crash mid-write
    with Tracker(tmp_path, sinks=("jsonl",), resume_step=2) as tr:
        tr.log(3, {"loss": 30.0})
    assert [(r["step"], r["loss"]) for r in read_metrics(tmp_path)] == [(1, 1.0), (2, 2.0), (3, 30.0)]


def test_flatten_keeps_numbers_only():
    assert flatten({"a": {"b": 1, "c": "x", "d": True}, "e": float("nan")}) == {"a/b": 1.0}


def test_unknown_sink_is_rejected(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="unknown metrics sink"):
        Tracker(tmp_path, sinks=("mlflow",))
    json.dumps({})
