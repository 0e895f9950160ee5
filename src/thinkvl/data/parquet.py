"""Parquet record files: a lossless layout thinkvl writes, and rank-aware reading of any layout.

Written files have plain string columns for the fields every tool filters on and JSON text for
fields whose type varies by record (content str|list, answer any), named in the schema metadata;
files from other writers (``datasets``' nested columns) are read too. Reading seeks by row group
and converts to Python only the rows a rank owns.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from thinkvl.data.files import SOURCE_KEY, atomic_path
from thinkvl.data.jsonline import SURROGATE_ESCAPE_RE, lone_surrogate, no_constant
from thinkvl.data.schema import RecordError

PARQUET_PLAIN = ("id", "kind", "domain", "text")
PARQUET_JSON = ("messages", "prompt", "answer", "difficulty", "images", "video", "meta", "extra")
PARQUET_JSON_META = b"thinkvl.json_columns"


def _parquet_schema():
    import pyarrow as pa

    fields = [pa.field(c, pa.string()) for c in PARQUET_PLAIN + PARQUET_JSON]
    return pa.schema(fields, metadata={PARQUET_JSON_META: ",".join(PARQUET_JSON).encode()})


def _to_parquet_row(rec: dict[str, Any]) -> dict[str, str | None]:
    row: dict[str, str | None] = {}
    extra: dict[str, Any] = {}
    for key in PARQUET_PLAIN:
        if key in rec and isinstance(rec[key], str):
            row[key] = rec[key]
        else:
            row[key] = None
            if key in rec:  # a non-string value (a bad record) is kept losslessly in "extra"
                extra[key] = rec[key]
    for key in PARQUET_JSON[:-1]:
        row[key] = json.dumps(rec[key], ensure_ascii=False) if key in rec else None
    known = set(PARQUET_PLAIN) | set(PARQUET_JSON[:-1]) | {SOURCE_KEY}
    extra.update((k, v) for k, v in rec.items() if k not in known)
    row["extra"] = json.dumps(extra, ensure_ascii=False) if extra else None
    return row


def write_parquet(path: str | os.PathLike[str], records: Iterable[dict[str, Any]], *,
                  row_group_size: int = 8192) -> int:
    """Write records as Parquet atomically, streaming one row group at a time; returns the count.

    Columns: ``id, kind, domain, text`` as strings; ``messages, prompt, answer, difficulty,
    images, video, meta`` and ``extra`` (any other field) as JSON text, named in the schema
    metadata so readers decode them. Every file has the same schema, so shards concatenate.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _parquet_schema()
    cols = schema.names
    with atomic_path(Path(path)) as tmp:
        n = 0
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            batch: list[dict[str, str | None]] = []

            def flush() -> None:
                data = {c: [r[c] for r in batch] for c in cols}
                writer.write_table(pa.Table.from_pydict(data, schema=schema))
                batch.clear()

            for rec in records:
                batch.append(_to_parquet_row(rec))
                n += 1
                if len(batch) >= row_group_size:
                    flush()
            if batch or n == 0:
                flush()
    return n


class ParquetDecoder:
    """Turns a raw Parquet row back into a record (JSON columns decoded, nulls = absent)."""

    def __init__(self, json_columns: set[str]) -> None:
        self.json_columns = json_columns

    def __call__(self, row: dict[str, Any], file: Path | str, line: int) -> dict[str, Any]:
        rec: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in row.items():
            if value is None:
                continue
            if key in self.json_columns:
                try:
                    text = value
                    value = json.loads(text, parse_constant=no_constant)
                except (ValueError, TypeError, RecursionError) as exc:
                    why = "nested too deeply" if isinstance(exc, RecursionError) else \
                        str(exc).split(";")[0]
                    raise RecordError(file, line, key,
                                      f"column holds invalid JSON: {why}") from None
                if isinstance(text, str) and SURROGATE_ESCAPE_RE.search(text.encode()) \
                        and lone_surrogate(value, key) is not None:
                    raise RecordError(file, line, key, "holds a lone surrogate: not valid "
                                      "Unicode text")
                if key == "extra" and isinstance(value, dict):
                    extra = value
                    continue
            elif key in ("messages", "prompt"):  # nested columns from other writers (datasets)
                value = _drop_null_keys(value)
            rec[key] = value
        rec.update(extra)
        return rec


def _drop_null_keys(msgs: Any) -> Any:
    """Arrow structs give every content part every key (``image: None`` on text parts)."""
    if not isinstance(msgs, list):
        return msgs
    out = []
    for m in msgs:
        if isinstance(m, dict):
            m = {k: v for k, v in m.items() if v is not None}
            if isinstance(m.get("content"), list):
                m["content"] = [{k: v for k, v in p.items() if v is not None}
                                if isinstance(p, dict) else p for p in m["content"]]
        out.append(m)
    return out


def parquet_file(path: Path):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError variants
        raise RecordError(path, 0, "file", f"cannot read Parquet: {exc}") from None


def parquet_decoder(pf) -> ParquetDecoder:
    meta = pf.schema_arrow.metadata or {}
    cols = meta.get(PARQUET_JSON_META, b"").decode()
    return ParquetDecoder({c for c in cols.split(",") if c})


def scan_parquet(path: Path, offset: int, position: int, rank: int, world: int,
                  batch_size: int = 4096) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(1-based row, raw row or None when another rank owns it) for rows from ``offset``.

    Seeks by row group, and converts to Python only the rows this rank owns.
    """
    import pyarrow as pa

    pf = parquet_file(path)
    md = pf.metadata
    start_rg, rg_first = 0, 0
    while start_rg < md.num_row_groups and rg_first + md.row_group(start_rg).num_rows <= offset:
        rg_first += md.row_group(start_rg).num_rows
        start_rg += 1
    if start_rg >= md.num_row_groups:
        return
    row = rg_first  # 0-based index of the next row the batches will give
    batches = pf.iter_batches(batch_size=batch_size, use_threads=False,
                              row_groups=list(range(start_rg, md.num_row_groups)))
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as exc:  # a corrupt page: say where, instead of a bare ArrowInvalid
            raise RecordError(path, row + 1, "file", f"cannot read Parquet: {exc}") from None
        n = batch.num_rows
        lo = max(0, offset - row)
        if lo >= n:
            row += n
            continue
        # epoch position of batch row i is position + (row + i - offset)
        base = position + row - offset
        idx = [i for i in range(lo, n) if (base + i) % world == rank]
        owned = iter(batch.take(pa.array(idx, pa.int64())).to_pylist()) if idx else iter(())
        owned_set = set(idx) if world > 1 else None
        for i in range(lo, n):
            yield row + i + 1, (next(owned) if owned_set is None or i in owned_set else None)
        row += n


def parquet_rows(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Lazily yield (1-based row, record) from a Parquet file (decoding errors raise)."""
    p = Path(path)
    decode = parquet_decoder(parquet_file(p))
    for row, raw in scan_parquet(p, 0, 0, 0, 1):
        assert raw is not None
        yield row, decode(raw, p, row)
