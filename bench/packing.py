"""Benchmark: sequence-packing efficiency at 8,192 / 32,768 tokens, and training tokens/s on CPU.

Efficiency is real tokens / (rows × seq_len) for the rows the streaming best-fit packer builds
from the synthetic world's pre-training mix (captions, interleaved pairs, OCR, grounding, video,
text) and SFT mix, encoded exactly as training encodes them (tiny model's processor, 2 fps
video with timestamps). Records are cycled (shuffled per epoch, as training does) until
``--rows`` rows exist at each length, so long rows are measured in steady state.
Tokens/s comes from real pre-training steps of the tiny model (packed rows, FSDP-free single
process) at each ``--train-seq-len``; it is a CPU figure, not a GPU one.

    PYTHONPATH=src python bench/packing.py                       # world of 64/domain, ~2 min
    PYTHONPATH=src python bench/packing.py --per-domain 32 --rows 16 --train-seq-len 1024
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def encode_all(world: Path, processor, stage: str, positions, seq_len: int) -> list:
    from thinkvl.data.io import read_records
    from thinkvl.train.samples import Budget, SampleEncoder

    enc = SampleEncoder(processor, stage, Budget(seq_len, 6144, min(48000, seq_len - 1)), positions)
    return [enc(r) for r in read_records(world / f"{stage if stage == 'sft' else 'pretrain'}.jsonl")]


def cycled(items: list, seed: int = 0):
    rng = random.Random(seed)
    while True:
        order = list(items)
        rng.shuffle(order)
        yield from order


def packing_efficiency(items: list, seq_len: int, rows: int, buffer_rows: float) -> dict:
    from thinkvl.data.packing import efficiency, pack_stream

    stream = pack_stream(cycled(items), seq_len, int(buffer_rows * seq_len))
    t0 = time.perf_counter()
    packs = [next(stream) for _ in range(rows)]
    secs = time.perf_counter() - t0
    return {"seq_len": seq_len, "rows": rows, "efficiency": efficiency(packs),
            "min_row_fill": min(p.length for p in packs) / seq_len,
            "samples_per_row": statistics.mean(len(p.items) for p in packs),
            "video_rows": sum(p.modality == "video" for p in packs),
            "pack_seconds": secs}


def train_throughput(world: Path, model_dir: Path, seq_len: int, steps: int, tmp: Path) -> dict:
    from thinkvl.config import load_config
    from thinkvl.runtime import distributed as D
    from thinkvl.train.config import PretrainConfig
    from thinkvl.train.loop import SupervisedTrainer

    out = tmp / f"run_{seq_len}"
    cfg = load_config(PretrainConfig, None, [
        f"model.path={model_dir}", f"data.train={world / 'pretrain.jsonl'}", f"data.seq_len={seq_len}",
        f"data.max_video_tokens={min(48000, seq_len - 1)}", f"data.max_image_tokens={min(6144, seq_len - 1)}",
        f"train.steps={steps}", "train.packs_per_step=1", f"run.out={out}", "run.sinks=[jsonl]",
        "run.progress=false"])
    trainer = SupervisedTrainer(cfg, D.init_distributed())
    rates, times = [], []
    for _ in range(steps):
        packs = trainer.feed.next_step()
        t0 = time.perf_counter()
        m = trainer.train_step(packs)
        times.append(time.perf_counter() - t0)
        rates.append(m["tokens"] / times[-1])
    warm = rates[1:] or rates
    return {"seq_len": seq_len, "steps": steps, "tokens_per_s": statistics.median(warm),
            "step_seconds": statistics.median(times[1:] or times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-domain", type=int, default=64, help="synthetic world size (records per domain)")
    ap.add_argument("--world", type=Path, help="use an existing synthetic world instead")
    ap.add_argument("--seq-lens", type=int, nargs="+", default=[8192, 32768])
    ap.add_argument("--rows", type=int, default=32, help="rows packed per length")
    ap.add_argument("--buffer-rows", type=float, default=2.0, help="packing lookahead, in rows")
    ap.add_argument("--train-seq-len", type=int, nargs="*", default=[1024, 8192])
    ap.add_argument("--train-steps", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    import torch
    from rich.console import Console
    from rich.table import Table

    from thinkvl.data.packing import make_rope_positions
    from thinkvl.data.synthetic import generate_world
    from thinkvl.model.factory import build_tiny, load_model, load_processor

    torch.set_num_threads(args.threads)
    console = Console()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        world = args.world
        if world is None:
            world = tmp / "world"
            generate_world(world, per_domain=args.per_domain, seed=0)
        model_dir = build_tiny(tmp / "tiny")
        processor = load_processor(model_dir)
        positions = make_rope_positions(load_model(model_dir))
        results: dict = {"packing": [], "throughput": []}
        for stage in ("pretrain", "sft"):
            items = encode_all(world, processor, stage, positions, max(args.seq_lens))
            for seq_len in args.seq_lens:
                r = packing_efficiency(items, seq_len, args.rows, args.buffer_rows)
                r.update(mix=stage, samples=len(items), mean_sample_tokens=statistics.mean(i.length for i in items))
                results["packing"].append(r)
        for seq_len in args.train_seq_len:
            results["throughput"].append(train_throughput(world, model_dir, seq_len, args.train_steps, tmp))

    table = Table(title="packing efficiency (real tokens / rows × seq_len)", title_justify="left")
    for col in ("mix", "seq_len", "rows", "efficiency", "min row fill", "samples/row", "mean sample"):
        table.add_column(col, justify="left" if col == "mix" else "right")
    for r in results["packing"]:
        table.add_row(r["mix"], str(r["seq_len"]), str(r["rows"]), f"{r['efficiency']:.2%}",
                      f"{r['min_row_fill']:.1%}", f"{r['samples_per_row']:.0f}", f"{r['mean_sample_tokens']:.0f}")
    console.print(table)
    table = Table(title=f"training throughput, tiny model, CPU ({args.threads} threads)", title_justify="left")
    for col in ("seq_len", "tokens/s", "s/step"):
        table.add_column(col, justify="right")
    for r in results["throughput"]:
        table.add_row(str(r["seq_len"]), f"{r['tokens_per_s']:,.0f}", f"{r['step_seconds']:.2f}")
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
