"""The `thinkvl` command. Sub-commands live in ``thinkvl.commands`` and import heavy libraries
(torch, transformers) only when they run, so `thinkvl --help` stays quick."""

from __future__ import annotations

import os

# Spin-waiting OpenMP threads make concurrent torch jobs on a small machine 5-10x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import typer  # noqa: E402

from thinkvl.commands import data, demo, model, report, reward, rl, synth, train  # noqa: E402
from thinkvl.commands import annotate  # noqa: E402
from thinkvl.commands import eval as eval_cmd  # noqa: E402

app = typer.Typer(
    help="Train and evaluate thinking vision-language models (GLM-4.1V-Thinking recipe).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command("synth")(synth.synth_command)
app.add_typer(data.app, name="data")
app.add_typer(model.app, name="model")
app.command("pretrain", context_settings={"allow_extra_args": True})(train.pretrain_command)
app.command("sft", context_settings={"allow_extra_args": True})(train.sft_command)
app.add_typer(rl.app, name="rl")
app.add_typer(reward.app, name="reward")
app.add_typer(eval_cmd.app, name="eval")
app.command("report")(report.report_command)
app.command("demo")(demo.demo_command)
app.add_typer(annotate.app, name="annotate")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
