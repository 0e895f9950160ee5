"""``python -m thinkvl.train pretrain|sft --config … [--resume] [--out DIR] [key=value …]``: the
supervised stages without the CLI package, handy as a torchrun target
(``torchrun --nproc_per_node 8 -m thinkvl.train pretrain --config …``)."""

from __future__ import annotations

import os

# Before torch loads OpenMP: spinning worker threads turn CPU sharing (other jobs on the same
# cores) into 5-10x slowdowns (measured: 77 s vs 9 s for 10 demo steps on a shared box).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m thinkvl.train", description=__doc__.split("\n")[0])
    parser.add_argument("stage", choices=("pretrain", "sft"))
    parser.add_argument("--config", "-c", required=True, help="recipe YAML, or a shipped recipe's name")
    parser.add_argument("--resume", action="store_true", help="continue the run folder's latest checkpoint")
    parser.add_argument("--out", help="run folder (same as run.out=…)")
    parser.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. train.steps=100")
    args = parser.parse_intermixed_args(argv)

    from thinkvl.config import ConfigError, load_config
    from thinkvl.data.schema import RecordError
    from thinkvl.runtime.checkpoint import UnsafeCheckpoint
    from thinkvl.train.config import PretrainConfig, SFTConfig
    from thinkvl.train.loop import run_supervised
    from thinkvl.train.samples import SampleError

    items = [*args.overrides, *args.sets] + ([f"run.out={args.out}"] if args.out else [])
    try:
        cfg = load_config(PretrainConfig if args.stage == "pretrain" else SFTConfig, args.config, items)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    try:
        final = run_supervised(cfg, resume=args.resume)
    except (RecordError, SampleError, UnsafeCheckpoint) as err:  # the data's fault: no traceback
        print(f"{args.stage} stopped: {err}", file=sys.stderr)
        return 2
    if os.environ.get("RANK", "0") == "0":
        print(f"{args.stage} done: model in {final}, metrics in {Path(cfg.run.out) / 'metrics.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
