"""Benchmark: streaming records from sharded JSONL/Parquet — speed, and memory that stays flat.

Writes ``--count`` synthetic records (RL and SFT, each with an image reference that validation
stats) as shards to a temp folder, then streams the first N records for each N in ``--points``,
every run in a fresh process so its peak RSS (VmHWM from /proc) belongs to that run alone.
Flat memory across N is the point: the reader never holds more than one shuffle window.
(Parquet's extra ~100 MiB over the base is Arrow's one-time runtime, reached on the first read
and flat after it; Arrow's own pool stays under ~10 MiB.)

    PYTHONPATH=src python bench/data_stream.py                      # 1M records, both formats
    PYTHONPATH=src python bench/data_stream.py --count 2000 --points 500,2000 --shards 4
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

# A 1×1 PNG: the records point at it so validation does its per-record media check.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478"
    "9c6360000002000154a24f5d0000000049454e44ae426082"
)
RESPONSE = ("<think>Count the squares one row at a time: two on top, then one, then one more."
            "</think><answer>There are <|begin_of_box|>{n}<|end_of_box|> squares.</answer>")


def synthetic(i: int) -> dict:
    """One record; even ids are RL prompts, odd ids SFT conversations (~400 bytes each)."""
    user = {"role": "user", "content": [
        {"type": "image", "image": "img.png"},
        {"type": "text",
         "text": f"How many squares are in the picture? Sample {i}, variant {i % 97}."},
    ]}
    if i % 2 == 0:
        return {"id": f"s{i:08d}", "domain": "counting", "prompt": [user], "answer": i % 10,
                "difficulty": i % 5, "meta": {"source": "bench"}}
    return {"id": f"s{i:08d}", "domain": "counting",
            "messages": [user, {"role": "assistant", "content": RESPONSE.format(n=i % 10)}]}


def generate(root: Path, fmt: str, count: int, shards: int) -> Path:
    from thinkvl.data.io import write_jsonl, write_parquet

    out = root / fmt
    out.mkdir(parents=True, exist_ok=True)
    (out / "img.png").write_bytes(PNG)
    per = -(-count // shards)
    writer = write_jsonl if fmt == "jsonl" else write_parquet
    for s in range(shards):
        lo, hi = s * per, min(count, (s + 1) * per)
        writer(out / f"shard-{s:05d}.{fmt}", (synthetic(i) for i in range(lo, hi)))
    return out


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure(folder: str, n: int, seed: int | None, buffer: int) -> dict:
    """Runs in a child process: stream the first ``n`` records, report rate and memory."""
    import pyarrow.parquet  # noqa: F401  (a library's code is not data: count it in the base)

    from thinkvl.data.io import read_records

    stream = read_records(folder, shuffle_seed=seed, buffer_size=buffer)
    base = _rss_kib("VmRSS")
    t0 = time.perf_counter()
    got = 0
    for _ in stream:
        got += 1
        if got >= n:
            break
    secs = time.perf_counter() - t0
    json.dumps(stream.state_dict())
    return {"records": got, "seconds": secs, "rate": got / secs if secs else 0.0,
            "base_mib": base / 1024, "peak_mib": _rss_kib("VmHWM") / 1024,
            "skipped": stream.skipped}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1_000_000, help="records to generate")
    ap.add_argument("--points", default="100000,300000,1000000", help="stream lengths to time")
    ap.add_argument("--shards", type=int, default=20)
    ap.add_argument("--formats", default="jsonl,parquet")
    ap.add_argument("--seed", type=int, default=0, help="shuffle seed (-1: no shuffle)")
    ap.add_argument("--buffer", type=int, default=10_000, help="shuffle window (records)")
    ap.add_argument("--dir", type=Path, help="where to write shards (default: a temp folder)")
    ap.add_argument("--measure", nargs=2, metavar=("FOLDER", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    seed = None if args.seed < 0 else args.seed
    if args.measure:
        print(json.dumps(measure(args.measure[0], int(args.measure[1]), seed, args.buffer)))
        return
    points = [min(int(p), args.count) for p in args.points.split(",")]
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        rows = []
        for fmt in args.formats.split(","):
            t0 = time.perf_counter()
            folder = generate(Path(tmp), fmt, args.count, args.shards)
            size = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
            print(f"wrote {args.count:,} {fmt} records in {args.shards} shards "
                  f"({size:.1f} MiB) in {time.perf_counter() - t0:.1f}s", flush=True)
            for n in points:
                cmd = [sys.executable, __file__, "--measure", str(folder), str(n),
                       "--seed", str(args.seed), "--buffer", str(args.buffer)]
                res = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                                text=True).stdout.strip().splitlines()[-1])
                rows.append((fmt, res))
                print(f"  {fmt} {n:,}: {res['rate']:,.0f} rec/s", flush=True)
    print(f"\nshuffle seed {seed}, window {args.buffer:,} records, validation on")
    print(f"{'format':8} {'records':>10} {'seconds':>8} {'records/s':>10} "
          f"{'base RSS MiB':>13} {'peak RSS MiB':>13} {'peak-base':>10}")
    for fmt, r in rows:
        grew = r["peak_mib"] - r["base_mib"]
        print(f"{fmt:8} {r['records']:>10,} {r['seconds']:>8.1f} {r['rate']:>10,.0f} "
              f"{r['base_mib']:>13.1f} {r['peak_mib']:>13.1f} {grew:>10.1f}")


if __name__ == "__main__":
    main()
