"""`thinkvl reward …`: score response files and audit the reward system for hackable domains."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(help="Score responses and audit the reward system.", no_args_is_help=True)
console = Console()


@app.callback()
def _group() -> None:
    """Score responses and audit the reward system."""


class BadRecord(ValueError):
    """A JSONL line that cannot be scored; the message names file, line and field."""


def _question_from_prompt(prompt: Any) -> str | None:
    """The last user text of an RL record's ``prompt`` (chat messages)."""
    if not isinstance(prompt, list):
        return prompt if isinstance(prompt, str) else None
    for msg in reversed(prompt):
        if isinstance(msg, dict) and msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                texts = [
                    c.get("text", "")
                    for c in content
                    if isinstance(c, dict) and c.get("type") == "text"
                ]
                return "\n".join(t for t in texts if t) or None
    return None


def _item(path: Path, lineno: int, line: bytes) -> dict[str, Any]:
    """One scorable item; every malformed line (bad JSON or UTF-8, lone surrogates, NaN,
    huge integers, deep nesting) is a BadRecord naming FILE:LINE, never a traceback."""
    from thinkvl.data.io import decode_line
    from thinkvl.data.schema import RecordError

    where = f"{path}:{lineno}"
    try:
        rec = decode_line(line, path, lineno)
    except RecordError as exc:
        raise BadRecord(str(exc)) from None
    for key in ("response", "answer", "domain"):
        if key not in rec:
            raise BadRecord(
                f"{where}: field {key!r} is missing (records need response, "
                "answer, domain; question and meta are optional)"
            )
    if not isinstance(rec["response"], str):
        raise BadRecord(f"{where}: field 'response' must be a string")
    question = rec.get("question") or _question_from_prompt(rec.get("prompt"))
    return {
        "record": rec,
        "response": rec["response"],
        "answer": rec["answer"],
        "domain": rec["domain"],
        "question": question,
        "meta": rec.get("meta"),
    }


@app.command("score")
def score(
    in_path: Path = typer.Argument(
        ..., help="JSONL with response, answer, domain[, question, meta]."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write records + their reward."),
    config: Path | None = typer.Option(
        None, "--config", help="Reward config YAML (default: built-in)."
    ),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip (and count) unusable lines."),
    batch_size: int = typer.Option(1024, "--batch-size", min=1),
) -> None:
    """Score every response in IN.jsonl; write each record with a "reward" object to OUT.jsonl."""
    from thinkvl.config import ConfigError
    from thinkvl.rewards import RewardSystem

    if not in_path.is_file():
        raise typer.BadParameter(f"{in_path} does not exist", param_hint="IN")
    try:
        rs = RewardSystem.from_yaml(config) if config else RewardSystem()
    except ConfigError as exc:
        console.print(f"[red]reward config error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    skipped: list[str] = []
    written = 0
    with rs, in_path.open("rb") as src, out.open("w", encoding="utf-8") as dst:
        batch: list[dict[str, Any]] = []
        for lineno, line in enumerate(src, 1):
            if not line.strip():
                continue
            try:
                item = _item(in_path, lineno, line)
                rs.resolve_domain(item["domain"])
            except (BadRecord, ValueError) as exc:
                msg = str(exc) if isinstance(exc, BadRecord) else f"{in_path}:{lineno}: {exc}"
                if not skip_bad:
                    typer.echo(msg, err=True)
                    typer.echo(
                        "fix the line or pass --skip-bad to skip and count such lines", err=True
                    )
                    raise typer.Exit(1) from None
                skipped.append(msg)
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                written += _flush(rs, batch, dst)
        written += _flush(rs, batch, dst)
        _print_summary(rs.summary(), written, skipped, out)


def _flush(rs: Any, batch: list[dict[str, Any]], dst: Any) -> int:
    results = rs.score_batch(batch)
    for item, res in zip(batch, results):
        rec = dict(item["record"])
        rec["reward"] = res.to_dict()
        dst.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
    n = len(batch)
    batch.clear()
    return n


def _print_summary(summary: dict[str, Any], written: int, skipped: list[str], out: Path) -> None:
    table = Table(title=f"{written} responses scored → {out}")
    for col in ("domain", "n", "mean score", "accuracy", "missing", "top flags"):
        table.add_column(col, justify="left" if col in ("domain", "top flags") else "right")
    for name, d in summary["domains"].items():
        flags = sorted(d["flags"].items(), key=lambda kv: -kv[1])[:3]
        table.add_row(
            name,
            str(d["n"]),
            f"{d['mean_score']:.3f}",
            f"{d['accuracy']:.3f}",
            str(d["missing"]),
            ", ".join(f"{k}×{v}" for k, v in flags),
        )
    console.print(table)
    if skipped:
        console.print(
            f"[yellow]skipped {len(skipped)} bad line(s)[/yellow]; first: {escape(skipped[0])}"
        )


@app.command("audit")
def audit(
    config: Path | None = typer.Option(
        None, "--config", help="Reward config YAML (default: built-in)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
) -> None:
    """Run adversarial probes against every domain; exit 1 if any probe earns reward."""
    from thinkvl.config import ConfigError
    from thinkvl.rewards.audit import run_audit
    from thinkvl.rewards.config import load

    try:
        report = run_audit(load(config))
    except ConfigError as exc:
        console.print(f"[red]reward config error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_audit(report)
    if not report.passed:
        raise typer.Exit(1)


def _print_audit(report: Any) -> None:
    def row(probe: str) -> str:  # the template families (hedge:…, injection:…) share a row
        family, sep, _ = probe.partition(":")
        return f"{family} forms" if sep else probe

    probes = list(dict.fromkeys(row(r.probe) for r in report.results))
    probes.sort(key=lambda p: 0 if p == "control" else 1 if p == "judge_control" else 2)
    cells: dict[tuple[str, str], Any] = {}
    for r in report.results:  # several samples or forms per cell: keep the worst case
        key = (r.domain, row(r.probe))
        prev = cells.get(key)
        if (
            prev is None
            or (r.expected == "zero" and r.score > prev.score)
            or (r.expected == "reward" and r.score < prev.score)
        ):
            cells[key] = r
    domains = list(dict.fromkeys(r.domain for r in report.results))
    table = Table(
        title="reward audit: reward per probe × domain (controls must earn reward, "
        "probes must earn 0)",
        show_lines=False,
        pad_edge=False,
    )
    table.add_column("probe", no_wrap=True)
    for d in domains:
        table.add_column(d, justify="right", no_wrap=True, min_width=4)
    for p in probes:
        row = [p]
        for d in domains:
            r = cells.get((d, p))
            if r is None:
                row.append("[dim]·[/dim]")
                continue
            style = "green" if r.ok else "bold red"
            row.append(f"[{style}]{r.score:.2f}[/{style}]")
        table.add_row(*row)
    console.print(table)
    for r in report.hackable:
        console.print(
            f"[bold red]HACKABLE[/bold red] {r.domain}/{r.probe}: reward {r.score:.2f} "
            f"({escape(r.reason)})"
        )
    for r in report.broken_controls:
        console.print(
            f"[bold red]BROKEN[/bold red] {r.domain}/{r.probe}: the right answer earned "
            f"{r.score:.2f} ({escape(r.reason)})"
        )
    if report.passed:
        console.print(
            f"[green]audit passed[/green]: {len(report.results)} checks, no probe "
            "earned reward (judge domains ran with a judge that accepts anything)."
        )
