"""``python -m thinkvl.train pretrain|sft --config …``: the supervised stages without the full CLI,
handy as a torchrun target (``torchrun --nproc_per_node 8 -m thinkvl.train pretrain --config …``)."""

from __future__ import annotations

import os

# Before torch loads OpenMP: spinning worker threads turn CPU sharing (other jobs on the same
# cores) into 5-10x slowdowns (measured: 77 s vs 9 s for 10 demo steps on a shared box).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import typer

from thinkvl.commands.train import pretrain_command, sft_command

app = typer.Typer(no_args_is_help=True, pretty_exceptions_show_locals=False)
app.command("pretrain")(pretrain_command)
app.command("sft")(sft_command)

if __name__ == "__main__":
    app()
