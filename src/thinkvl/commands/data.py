"""`thinkvl data …`: validate record files before a run spends GPU hours on them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(help="Inspect and validate data records.", no_args_is_help=True)
console = Console()


@app.callback()
def _group() -> None:
    """Inspect and validate data records (JSONL / Parquet)."""


@app.command("check")
def check(
    files: list[Path] = typer.Argument(..., help="JSONL/Parquet files, folders or globs."),
    kind: str | None = typer.Option(
        None, "--kind", help="Force the record kind: pretrain, sft or rl (default: detect)."),
    max_errors: int = typer.Option(
        100, "--max-errors", min=0, help="Print at most N problem lines in all (all are counted)."),
    media_root: list[Path] = typer.Option(
        [], "--media-root", help="A folder media may live in besides each data file's own "
        "(repeatable); anything else, symlinks resolved, is a problem."),
) -> None:
    """Validate records; print each problem as FILE:LINE: field: problem; exit 1 on any bad record.

    Every image is decoded and every video opened (size limits, bombs, corrupt files); media
    must resolve inside the data file's folder or a --media-root. Parquet locations are
    1-based row numbers.
    """
    from thinkvl.data.check import CheckReport, check_file
    from thinkvl.data.io import expand_paths
    from thinkvl.data.schema import RecordError, normalize_kind

    try:
        kind = normalize_kind(kind)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--kind") from None
    reports: list[CheckReport] = []
    roots = tuple(media_root)
    for spec in files:
        if spec.is_file() or not (spec.is_dir() or any(c in str(spec) for c in "*?[")):
            reports.append(check_file(spec, kind, max_problems=max_errors, media_roots=roots))
            continue
        try:
            paths = expand_paths(spec)
        except FileNotFoundError as exc:
            rep = CheckReport(str(spec))
            rep.add(RecordError(spec, 0, "file", str(exc).removeprefix(f"{spec}: ")))
            reports.append(rep)
            continue
        reports.extend(check_file(p, kind, max_problems=max_errors, media_roots=roots)
                       for p in paths)

    errors = [e for r in reports for e in r.problems]
    for err in errors[:max_errors]:
        typer.echo(str(err))  # plain echo: rich would read "[0]" in field paths as markup
    for warn in [w for r in reports for w in r.warnings][:max_errors]:
        typer.echo(warn.location_text(warn.field, f"warning: {warn.problem}"))
    total = sum(r.n_problems for r in reports)
    if total > min(max_errors, len(errors)):
        typer.echo(f"… {total - min(max_errors, len(errors))} more problem(s) not shown "
                   "(raise --max-errors)")
    _summary(reports)
    if total:
        raise typer.Exit(1)


def _summary(reports) -> None:
    files = Table(title="data check", title_justify="left")
    for col in ("file", "records", "bad records", "problems", "warnings"):
        files.add_column(col, justify="left" if col == "file" else "right")
    domains: Counter[tuple[str, str]] = Counter()
    for rep in reports:
        style = "green" if rep.ok else "red"
        files.add_row(escape(rep.path), str(rep.records), f"[{style}]{rep.bad_records}[/]",
                      f"[{style}]{rep.n_problems}[/]", str(rep.n_warnings))
        domains.update(rep.by_domain)
    console.print(files)
    if domains:
        table = Table(title="records by kind and domain", title_justify="left")
        for col in ("kind", "domain", "records"):
            table.add_column(col, justify="right" if col == "records" else "left")
        for (k, d), n in sorted(domains.items()):
            table.add_row(escape(k), escape(d), str(n))
        console.print(table)
