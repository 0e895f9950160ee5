"""Readers and writers: lazy JSONL/Parquet, atomic writes, rank splits, shuffling, exact resume."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from thinkvl.data.io import (
    SOURCE_KEY,
    base_dir_of,
    expand_paths,
    iter_file,
    iter_jsonl,
    parquet_rows,
    read_records,
    resolve_media,
    source_of,
    write_jsonl,
    write_parquet,
)
from thinkvl.data.schema import RecordError

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
N = 203  # not a multiple of shards, windows or ranks


def rec(i: int) -> dict:
    return {"id": f"r{i:04d}", "domain": "math",
            "prompt": [{"role": "user", "content": [{"type": "image", "image": "img.png"},
                                                    {"type": "text", "text": f"q{i}"}]}],
            "answer": i}


def make_shards(root: Path, fmt: str, n: int = N, shards: int = 4) -> Path:
    (root / "img.png").write_bytes(PNG)
    per = -(-n // shards)
    writer = write_jsonl if fmt == "jsonl" else write_parquet
    for s in range(shards):
        writer(root / f"part-{s}.{fmt}", [rec(i) for i in range(s * per, min(n, (s + 1) * per))])
    return root


def ids(stream) -> list[str]:
    return [r["id"] for r in stream]


# -- plain files -------------------------------------------------------------------------------


def test_iter_jsonl_is_lazy_and_counts_lines(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_text('{"id": "a"}\n\n   \n{"id": "b"}\n{oops\n')
    it = iter_jsonl(p)
    assert next(it) == (1, {"id": "a"})
    assert next(it) == (4, {"id": "b"})
    with pytest.raises(RecordError) as exc:
        next(it)
    assert (exc.value.line, exc.value.field) == (5, "json")
    assert str(exc.value).startswith(f"{p}:5: json: invalid JSON")


def test_write_jsonl_strips_source_and_is_atomic(tmp_path: Path) -> None:
    p = tmp_path / "sub" / "out.jsonl"
    assert write_jsonl(p, [{"id": "a", SOURCE_KEY: "x:1", "text": "é"}]) == 1
    assert p.read_text(encoding="utf-8") == '{"id": "a", "text": "é"}\n'

    def boom():
        yield {"id": "new"}
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        write_jsonl(p, boom())
    assert p.read_text(encoding="utf-8") == '{"id": "a", "text": "é"}\n'  # old file intact
    assert sorted(x.name for x in p.parent.iterdir()) == ["out.jsonl"]  # no temp left behind


def test_parquet_round_trip_is_lossless(tmp_path: Path) -> None:
    records = [
        rec(0),
        {"id": "sft", "domain": "chart", "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "text", "text": "a"}]}]},
        {"id": "pt", "kind": "interleaved", "images": ["a.png", "b.png"], "messages": [],
         "video": ["f1.png"]},
        {"id": "t", "kind": "text", "text": "plain"},
        {"id": "rl", "domain": "gui", "prompt": [], "answer": {"action": "click", "pt": [1, 2]},
         "difficulty": "hard", "meta": {"k": [1, None]}, "custom": 1.5},
        {"id": "x", "answer": [1, "two"], "difficulty": 3},
        {"id": 7, "domain": None, "answer": False},  # bad types survive the trip unchanged
        {"id": "nul", "answer": None},  # null is not the same as absent
    ]
    p = tmp_path / "rt.parquet"
    assert write_parquet(p, [dict(r, **{SOURCE_KEY: "src:1"}) for r in records],
                         row_group_size=3) == len(records)
    assert pq.ParquetFile(p).metadata.num_row_groups == 3
    assert [r for _, r in parquet_rows(p)] == records
    assert [row for row, _ in parquet_rows(p)] == list(range(1, len(records) + 1))
    assert write_parquet(tmp_path / "empty.parquet", []) == 0
    assert list(parquet_rows(tmp_path / "empty.parquet")) == []


def test_reads_nested_parquet_from_other_writers(tmp_path: Path) -> None:
    """datasets / pyarrow write chat messages as nested structs with null-filled keys."""
    (tmp_path / "img.png").write_bytes(PNG)
    resp = "<think>t</think><answer><|begin_of_box|>3<|end_of_box|></answer>"
    table = pa.Table.from_pylist([{"id": "a", "domain": "counting", "messages": [
        {"role": "user", "content": [{"type": "image", "image": "img.png", "text": None},
                                     {"type": "text", "image": None, "text": "how many?"}]},
        {"role": "assistant", "content": [{"type": "text", "image": None, "text": resp}]}]}])
    pq.write_table(table, tmp_path / "hf.parquet")
    [r] = list(read_records(tmp_path / "hf.parquet"))
    assert r["messages"][0]["content"][0] == {"type": "image", "image": "img.png"}
    assert r[SOURCE_KEY] == f"{tmp_path / 'hf.parquet'}:1"


def test_expand_paths(tmp_path: Path) -> None:
    make_shards(tmp_path, "jsonl", n=8, shards=2)
    (tmp_path / "notes.txt").write_text("x")
    names = [p.name for p in expand_paths(tmp_path)]
    assert names == ["part-0.jsonl", "part-1.jsonl"]
    assert [p.name for p in expand_paths(str(tmp_path / "part-*.jsonl"))] == names
    assert len(expand_paths([tmp_path / "part-1.jsonl", tmp_path / "part-0.jsonl"])) == 2
    with pytest.raises(FileNotFoundError, match="no such data file"):
        expand_paths(tmp_path / "nope.jsonl")
    with pytest.raises(FileNotFoundError, match="no .jsonl/.parquet files match"):
        expand_paths(str(tmp_path / "*.parquet"))
    with pytest.raises(ValueError, match="unsupported data file"):
        expand_paths(tmp_path / "notes.txt")


def test_resolve_media_and_provenance(tmp_path: Path) -> None:
    make_shards(tmp_path, "jsonl", n=3, shards=1)
    r = next(iter(read_records(tmp_path)))
    assert source_of(r) == (str(tmp_path / "part-0.jsonl"), 1)
    assert base_dir_of(r) == tmp_path
    assert resolve_media("img.png", base_dir_of(r)) == tmp_path / "img.png"
    import base64
    assert resolve_media("data:image/png;base64," + base64.b64encode(PNG).decode(), None) == PNG
    with pytest.raises(FileNotFoundError, match="relative to the data file"):
        resolve_media("gone.png", tmp_path)


# -- bad records -------------------------------------------------------------------------------


@pytest.mark.parametrize("line,field,expect", [
    ('{"id": "b", "domain": "math", "prompt": [{"role": "user", "content": "q"}], ', "json",
     "invalid JSON"),
    ('{"id": "b", "domain": "math", "prompt": [{"role": "user", "content": "q"}]}', "answer",
     "missing"),
    ('{"id": "b", "domain": "math", "prompt": [{"role": "user", "content": [{"type": "image", '
     '"image": "gone.png"}]}], "answer": 1}', "prompt[0].content[0].image", "not found"),
    ('{"id": 5, "domain": "math", "prompt": [{"role": "user", "content": "q"}], "answer": 1}',
     "id", "expected a string, got integer"),
])
def test_reader_raises_located_error(tmp_path: Path, line: str, field: str, expect: str) -> None:
    good = json.dumps(rec(0))
    (tmp_path / "img.png").write_bytes(PNG)
    p = tmp_path / "d.jsonl"
    p.write_text(f"{good}\n\n{line}\n{good}\n")
    with pytest.raises(RecordError) as exc:
        list(read_records(p))
    err = exc.value
    assert (err.file, err.line, err.field) == (str(p), 3, field)
    assert expect in err.problem and str(err).startswith(f"{p}:3: {field}: ")
    # validate=False checks JSON only
    assert len(list(read_records(p, validate=False, skip_invalid=True))) == \
        (2 if field == "json" else 3)


def test_reader_reports_parquet_row(tmp_path: Path) -> None:
    p = tmp_path / "d.parquet"
    write_parquet(p, [{"id": "a", "domain": "math", "prompt": [{"role": "user", "content": "q"}],
                       "answer": 1}, {"id": "b", "domain": "math", "prompt": []}])
    with pytest.raises(RecordError, match=rf"^{p}:2: prompt: empty message list"):
        list(read_records(p))


def test_skip_invalid_counts_and_keeps_first_problems(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    lines = [json.dumps(rec(i)) if i % 3 else '{"id": "bad"}' for i in range(1, 31)]
    lines[4] = "not json"
    (tmp_path / "img.png").write_bytes(PNG)
    p.write_text("\n".join(lines) + "\n")
    stream = read_records(p, skip_invalid=True, max_problems=3)
    got = ids(stream)
    assert len(got) == 30 - 10 - 1 and stream.skipped == 11
    assert [(e.line, e.field) for e in stream.problems] == [(3, "record"), (5, "json"),
                                                            (6, "record")]
    assert "cannot tell the record kind" in stream.problems[0].problem


# -- streaming order, ranks, resume ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
@pytest.mark.parametrize("world", [1, 2, 3])
def test_ranks_are_disjoint_complete_and_balanced(tmp_path: Path, fmt: str, world: int) -> None:
    make_shards(tmp_path, fmt)
    parts = [ids(read_records(tmp_path, rank=r, world_size=world, shuffle_seed=5,
                              buffer_size=16)) for r in range(world)]
    flat = [i for part in parts for i in part]
    assert len(flat) == len(set(flat)) == N
    assert sorted(flat) == sorted(rec(i)["id"] for i in range(N))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_order_is_deterministic_and_shuffled_per_epoch(tmp_path: Path) -> None:
    make_shards(tmp_path, "jsonl")
    plain = ids(read_records(tmp_path))
    assert plain == [rec(i)["id"] for i in range(N)]
    s = read_records(tmp_path, shuffle_seed=1, buffer_size=32)
    e0, e1 = ids(s), ids(s)  # each loop is one epoch
    assert s.epoch == 2
    assert e0 == ids(read_records(tmp_path, shuffle_seed=1, buffer_size=32))
    assert sorted(e0) == sorted(e1) == sorted(plain)
    assert e0 != e1 and e0 != plain
    assert ids(read_records(tmp_path, shuffle_seed=2, buffer_size=32)) != e0
    s.set_epoch(1)
    assert ids(s) == e1


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
@pytest.mark.parametrize("seed,world,rank", [(None, 1, 0), (7, 1, 0), (7, 3, 1), (None, 2, 1)])
def test_resume_yields_exactly_the_rest(tmp_path: Path, fmt: str, seed, world, rank) -> None:
    make_shards(tmp_path, fmt)
    kw = dict(rank=rank, world_size=world, shuffle_seed=seed, buffer_size=10)
    whole = read_records(tmp_path, **kw)
    two_epochs = ids(whole) + ids(whole)
    per_epoch = len(two_epochs) // 2
    # cut points: start, inside/at the edge of a window, shard boundaries, end of epoch, epoch 2
    for cut in sorted({0, 1, 9, 10, 11, 49, 50, 51, per_epoch - 1, per_epoch, per_epoch + 13}):
        first = read_records(tmp_path, **kw)
        got: list[str] = []
        while len(got) < cut:
            for r in first:
                got.append(r["id"])
                if len(got) == cut:
                    break
        state = json.loads(json.dumps(first.state_dict()))  # must survive a JSON checkpoint
        resumed = read_records(tmp_path, **kw)
        resumed.load_state_dict(state)
        rest = ids(resumed)
        # one loop finishes the current epoch (possibly empty when the cut was its last record)
        expected = two_epochs[cut:per_epoch] if cut <= per_epoch else two_epochs[cut:]
        assert rest == expected, (cut, state)
        if cut <= per_epoch:
            assert ids(resumed) == two_epochs[per_epoch:]  # and the next epoch follows
        assert got == two_epochs[:cut]


def test_resume_after_break_in_same_object(tmp_path: Path) -> None:
    make_shards(tmp_path, "jsonl")
    s = read_records(tmp_path, shuffle_seed=3, buffer_size=8)
    full = ids(read_records(tmp_path, shuffle_seed=3, buffer_size=8))
    head = []
    for r in s:
        head.append(r["id"])
        if len(head) == 37:
            break
    assert head + ids(s) == full


def test_resume_keeps_skip_count(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    (tmp_path / "img.png").write_bytes(PNG)
    p.write_text("\n".join(json.dumps(rec(i)) if i % 4 else "{bad" for i in range(40)) + "\n")
    full = read_records(p, skip_invalid=True, shuffle_seed=0, buffer_size=6)
    expected = ids(full)
    s = read_records(p, skip_invalid=True, shuffle_seed=0, buffer_size=6)
    it = iter(s)
    head = [next(it)["id"] for _ in range(17)]
    state = s.state_dict()
    s2 = read_records(p, skip_invalid=True, shuffle_seed=0, buffer_size=6)
    s2.load_state_dict(state)
    assert head + ids(s2) == expected
    assert s2.skipped == full.skipped == 10


def test_load_state_rejects_a_different_stream(tmp_path: Path) -> None:
    make_shards(tmp_path, "jsonl")
    state = read_records(tmp_path, rank=0, world_size=2).state_dict()
    other = read_records(tmp_path, rank=0, world_size=4)
    with pytest.raises(ValueError, match="world_size: saved 2, now 4"):
        other.load_state_dict(state)
    with pytest.raises(ValueError, match="rank must be in"):
        read_records(tmp_path, rank=2, world_size=2)


def test_iter_file_goes_on_past_bad_lines(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_text('{"id": "a"}\n[1]\n{"id": "b"}\n')
    out = list(iter_file(p))
    assert [line for line, _ in out] == [1, 2, 3]
    assert isinstance(out[1][1], RecordError) and out[2][1] == {"id": "b"}
