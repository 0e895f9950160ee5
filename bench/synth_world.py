"""Benchmark: synthetic-world generation speed (records/s and media files/s, per domain and in all).

Generates a world of ``--per-domain`` records per domain ``--repeats`` times and prints the best
run (the least disturbed by other work on the machine). Written to a RAM disk where there is
one (``/dev/shm``), so it times the generator rather than the host's disk: creating thousands of
small PNG files on a busy VM disk alone can take seconds. (This figure was a timed test,
"200 per domain in under 10 s", until a busy CI machine took 12.5 s; tests assert behaviour.)

    PYTHONPATH=src python bench/synth_world.py                       # 200 per domain, 3 runs
    PYTHONPATH=src python bench/synth_world.py --per-domain 1000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def one_run(per_domain: int, seed: int, domains: list[str], where: Path) -> dict:
    from thinkvl.data.synthetic import generate_world

    with tempfile.TemporaryDirectory(dir=where) as out:
        seconds: dict[str, float] = {}
        records: dict[str, int] = {}
        media = 0
        for d in domains:  # one domain at a time, for a per-domain figure
            start = time.perf_counter()
            manifest = generate_world(Path(out) / d, per_domain=per_domain, seed=seed, domains=[d],
                                      progress=False)
            seconds[d] = time.perf_counter() - start
            records[d] = sum(f["total"] for f in manifest["files"].values())
            media += manifest["media_files"]
    total = sum(seconds.values())
    return {"seconds": seconds, "records": records, "media_files": media, "total_seconds": total,
            "records_per_s": sum(records.values()) / total, "media_per_s": media / total}


def main() -> None:
    from thinkvl.data.synthetic import DOMAINS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-domain", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--domains", default=",".join(DOMAINS))
    ap.add_argument("--json", type=Path, help="also write the best run here")
    args = ap.parse_args()
    shm = Path("/dev/shm")
    where = shm if shm.is_dir() else Path(tempfile.gettempdir())
    domains = [d.strip() for d in args.domains.split(",") if d.strip()]
    runs = [one_run(args.per_domain, args.seed, domains, where) for _ in range(args.repeats)]
    best = min(runs, key=lambda r: r["total_seconds"])
    every = ", ".join(f"{r['total_seconds']:.2f}" for r in runs)
    print(f"world of {args.per_domain} per domain into {where} (best of {args.repeats}):")
    print(f"{'domain':10s} {'records':>8s} {'seconds':>8s} {'records/s':>10s}")
    for d in domains:
        n, s = best["records"][d], best["seconds"][d]
        print(f"{d:10s} {n:8d} {s:8.2f} {n / s:10.0f}")
    print(f"all: {sum(best['records'].values())} records and {best['media_files']} media files in "
          f"{best['total_seconds']:.2f} s: {best['records_per_s']:.0f} records/s, "
          f"{best['media_per_s']:.0f} media files/s "
          f"(all runs: {every} s)")
    if args.json:
        args.json.write_text(json.dumps({"per_domain": args.per_domain, "best": best,
                                         "runs": [r["total_seconds"] for r in runs]}, indent=1) + "\n")


if __name__ == "__main__":
    main()
