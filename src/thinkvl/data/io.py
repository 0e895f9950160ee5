"""Record files: lazy JSONL/Parquet readers, atomic writers, and a resumable, rank-split stream.

The corpus is tens of millions of samples, so nothing here loads a dataset whole: records are read
lazily from sharded files and a JSON line is only parsed by the rank that owns it.

Order (``RecordStream``), identical on every rank for a given (files, seed, epoch):
  1. shards in sorted path order, permuted per epoch when ``shuffle_seed`` is set;
  2. every record gets an epoch position ``p`` (blank lines are not records); rank ``r`` owns
     ``p % world_size == r`` — ranks are disjoint, together complete, and differ by ≤ 1 record;
  3. a rank's records are cut into windows of ``buffer_size``; with a seed each window is permuted
     by an RNG seeded from (seed, epoch, rank, window start) — a bounded shuffle buffer whose
     order depends only on the window, which is what makes exact resumption cheap.
State (``state_dict()``) is the window's start (shard, offset, line, byte, position) plus how many
of its records were consumed: resuming re-reads at most one window and yields exactly what the
uninterrupted iteration would have yielded next.

Provenance: every record yielded by ``read_records`` carries ``_source = "FILE:LINE"`` (for
Parquet, LINE is the 1-based row). Writers strip it. ``base_dir_of(rec)`` gives the folder that
the record's relative media paths resolve against.
"""

from __future__ import annotations

import glob as globlib
import hashlib
import json
import logging
import os
import random
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from thinkvl.data.files import SOURCE_KEY, atomic_path, strip_source
from thinkvl.data.jsonline import (  # noqa: F401 - decode_line is part of this module's API
    SURROGATE_ESCAPE_RE,
    decode_line,
    lone_surrogate,
    no_constant,
)
from thinkvl.data.mediacheck import MediaPolicy
from thinkvl.data.parquet import (  # noqa: F401 - write_parquet and parquet_rows are this API's too
    ParquetDecoder,
    parquet_decoder,
    parquet_file,
    parquet_rows,
    scan_parquet,
    write_parquet,
)
from thinkvl.data.schema import (
    Problem,
    RecordError,
    errors_only,
    normalize_kind,
    split_data_uri,
    validate_record,
)

log = logging.getLogger("thinkvl.data")

JSONL_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIXES = (".parquet",)
STATE_VERSION = 1

PathSpec = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]


# -- paths ------------------------------------------------------------------------------------


def file_format(path: str | os.PathLike[str]) -> str:
    """``"jsonl"`` or ``"parquet"`` from the file name; ValueError otherwise."""
    name = str(path).lower()
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise ValueError(f"{path}: unsupported data file (expected .jsonl, .ndjson or .parquet)")


def _is_data_file(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(JSONL_SUFFIXES + PARQUET_SUFFIXES)


def expand_paths(spec: PathSpec) -> list[Path]:
    """Files named by a path, a glob (``shards/*.jsonl``, ``**`` allowed), a folder (its data files,
    recursively) or a list of these, in a deterministic (sorted) order."""
    specs = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
    out: list[Path] = []
    for s in specs:
        text = os.fspath(s)
        if any(c in text for c in "*?["):
            matches = sorted(p for p in map(Path, globlib.glob(text, recursive=True))
                             if _is_data_file(p))
            if not matches:
                raise FileNotFoundError(f"{text}: no .jsonl/.parquet files match")
            out.extend(matches)
        elif Path(text).is_dir():
            matches = sorted(p for p in Path(text).rglob("*") if _is_data_file(p))
            if not matches:
                raise FileNotFoundError(f"{text}: folder has no .jsonl/.parquet files")
            out.extend(matches)
        elif Path(text).exists():
            file_format(text)
            out.append(Path(text))
        else:
            raise FileNotFoundError(f"{text}: no such data file")
    return out


def source_of(rec: dict[str, Any]) -> tuple[str, int] | None:
    """(file, line) from a record's ``_source``, or None when it has none."""
    src = rec.get(SOURCE_KEY)
    if not isinstance(src, str) or ":" not in src:
        return None
    file, _, line = src.rpartition(":")
    return file, int(line) if line.isdigit() else 0


def base_dir_of(rec: dict[str, Any]) -> Path | None:
    """The folder a record's relative media paths resolve against (its file's folder)."""
    src = source_of(rec)
    return Path(src[0]).parent if src else None


def resolve_media(ref: str, base_dir: str | os.PathLike[str] | None, *,
                  must_exist: bool = True) -> Path | bytes:
    """An image/video reference as something loadable: a data URI → its decoded bytes, a path →
    the file (relative paths against ``base_dir``, the data file's folder)."""
    if ref.startswith("data:"):
        return split_data_uri(ref)[1]
    if ref.startswith("file://"):
        ref = ref[len("file://"):]
    path = Path(base_dir, ref) if base_dir is not None else Path(ref)
    if must_exist and not path.exists():
        raise FileNotFoundError(f"media not found: {path} (paths are relative to the data file)")
    return path


# -- JSONL ---------------------------------------------------------------------------------------


def _scan_jsonl(path: Path, line: int, byte: int) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset after the line, raw line) per non-blank line after ``byte``."""
    with open(path, "rb") as f:
        f.seek(byte)
        for raw in f:
            line += 1
            byte += len(raw)
            if raw.strip():
                yield line, byte, raw


_decode_json = decode_line


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Lazily yield (line number, record) from a JSONL file; bad JSON raises ``RecordError``."""
    p = Path(path)
    for line, _, raw in _scan_jsonl(p, 0, 0):
        yield line, _decode_json(raw, p, line)


def write_jsonl(path: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> int:
    """Write records as JSONL atomically (temp file + rename); returns the count.

    A crash mid-write never leaves a truncated file that later reads as a shorter dataset.
    """
    with atomic_path(Path(path)) as tmp:
        n = 0
        with open(tmp, "w", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps(strip_source(rec), ensure_ascii=False))
                f.write("\n")
                n += 1
    return n


def iter_file(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any] | RecordError]]:
    """Every record of one file in order as (line or row, record), a decoding failure as
    (line, RecordError) instead of raising, so a checker can go on past it."""
    p = Path(path)
    if file_format(p) == "jsonl":
        for line, _, raw in _scan_jsonl(p, 0, 0):
            try:
                yield line, _decode_json(raw, p, line)
            except RecordError as err:
                yield line, err
    else:
        pf = parquet_file(p)
        decode = parquet_decoder(pf)
        for row, raw in scan_parquet(p, 0, 0, 0, 1):
            try:
                yield row, decode(raw or {}, p, row)
            except RecordError as err:
                yield row, err


# -- the stream ----------------------------------------------------------------------------------


@dataclass
class _Cursor:
    """A place in one epoch's stream: ``offset`` records (``line`` lines, ``byte`` bytes) into the
    ``shard``-th file of the epoch's order, ``position`` records into the epoch (all ranks)."""

    shard: int = 0
    offset: int = 0
    line: int = 0
    byte: int = 0
    position: int = 0


class RecordStream:
    """Iterable over one rank's records, one epoch per ``for`` loop; see the module docstring.

    Breaking out of a loop and iterating again continues where it stopped. ``skipped`` counts
    records dropped under ``skip_invalid`` (cumulative); ``problems`` keeps the first
    ``max_problems`` of them as ``RecordError``.
    """

    def __init__(self, files: list[Path], *, rank: int = 0, world_size: int = 1,
                 shuffle_seed: int | None = None, buffer_size: int = 10_000,
                 skip_invalid: bool = False, validate: bool = True, kind: str | None = None,
                 max_problems: int = 100, media_roots: tuple = ()) -> None:
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size), got rank={rank}, "
                             f"world_size={world_size}")
        if buffer_size < 1:
            raise ValueError(f"buffer_size must be ≥ 1, got {buffer_size}")
        if not files:
            raise ValueError("no data files to read")
        self.files = list(files)
        self.formats = [file_format(f) for f in self.files]
        self.rank, self.world_size = rank, world_size
        self.shuffle_seed, self.buffer_size = shuffle_seed, buffer_size
        self.skip_invalid, self.validate = skip_invalid, validate
        self.kind = normalize_kind(kind)
        self.media = MediaPolicy(tuple(Path(r) for r in media_roots))
        self.max_problems = max_problems
        self.epoch = 0
        self.skipped = 0
        self.problems: list[RecordError] = []
        self._cur = _Cursor()
        self._emitted = 0
        self._warned: set[str] = set()
        self._decoders: dict[Path, ParquetDecoder] = {}

    # -- order -----------------------------------------------------------------------------------

    def shard_order(self, epoch: int | None = None) -> list[Path]:
        """The epoch's file order (the same on every rank)."""
        order = list(self.files)
        if self.shuffle_seed is not None:
            random.Random(f"{self.shuffle_seed}:{self.epoch if epoch is None else epoch}:shards"
                          ).shuffle(order)
        return order

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` from its beginning at the next iteration."""
        self.epoch, self._cur, self._emitted = epoch, _Cursor(), 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        order = self.shard_order()
        while True:
            window, end = self._fill(order, self._cur)
            if not window:
                break
            perm: list[int] | range = range(len(window))
            if self.shuffle_seed is not None:
                perm = list(perm)
                random.Random(f"{self.shuffle_seed}:{self.epoch}:{self.rank}:"
                              f"{self._cur.position}").shuffle(perm)
            while self._emitted < len(window):
                item = window[perm[self._emitted]]
                self._emitted += 1
                rec = self._materialize(*item)
                if rec is not None:
                    yield rec
            self._cur, self._emitted = end, 0
        self.set_epoch(self.epoch + 1)

    def _fill(self, order: list[Path], start: _Cursor
              ) -> tuple[list[tuple[Path, int, Any]], _Cursor]:
        """Read this rank's next ``buffer_size`` raw records from ``start``; returns them and the
        cursor just after the last one."""
        window: list[tuple[Path, int, Any]] = []
        cur = replace(start)
        while cur.shard < len(order) and len(window) < self.buffer_size:
            path = order[cur.shard]
            if file_format(path) == "jsonl":
                for line, byte, raw in _scan_jsonl(path, cur.line, cur.byte):
                    owned = cur.position % self.world_size == self.rank
                    cur.offset, cur.line, cur.byte = cur.offset + 1, line, byte
                    cur.position += 1
                    if owned:
                        window.append((path, line, raw))
                        if len(window) >= self.buffer_size:
                            break
                else:
                    cur = _Cursor(shard=cur.shard + 1, position=cur.position)
            else:
                for row, raw in scan_parquet(path, cur.offset, cur.position, self.rank,
                                              self.world_size):
                    cur.offset, cur.line = cur.offset + 1, row
                    cur.position += 1
                    if raw is not None:
                        window.append((path, row, raw))
                        if len(window) >= self.buffer_size:
                            break
                else:
                    cur = _Cursor(shard=cur.shard + 1, position=cur.position)
        return window, cur

    # -- records ---------------------------------------------------------------------------------

    def _decode(self, path: Path, line: int, raw: Any) -> dict[str, Any]:
        if isinstance(raw, bytes):
            return _decode_json(raw, path, line)
        decoder = self._decoders.get(path)
        if decoder is None:
            decoder = self._decoders[path] = parquet_decoder(parquet_file(path))
        return decoder(raw, path, line)

    def _materialize(self, path: Path, line: int, raw: Any) -> dict[str, Any] | None:
        """Decode and validate one record; raise or (with skip_invalid) count and drop it."""
        try:
            rec = self._decode(path, line, raw)
            if self.validate:
                problems = validate_record(rec, base_dir=path.parent, kind=self.kind,
                                           media=self.media)
                errs = errors_only(problems)
                if errs:
                    raise _record_error(path, line, errs)
                if len(problems) > len(errs):
                    self._warn(path, line, problems)
        except RecordError as err:
            if not self.skip_invalid:
                raise
            self.skipped += 1
            if len(self.problems) < self.max_problems:
                self.problems.append(err)
            if self.skipped <= 10:
                log.warning("skipping invalid record: %s", err)
            return None
        rec[SOURCE_KEY] = f"{path}:{line}"
        return rec

    def _warn(self, path: Path, line: int, problems: list[Problem]) -> None:
        for p in problems:
            key = str(p)
            if not p.is_error and key not in self._warned and len(self._warned) < 100:
                self._warned.add(key)
                log.warning("%s:%s: %s", path, line, p)

    # -- resumption ------------------------------------------------------------------------------

    def _fingerprint(self) -> dict[str, Any]:
        names = "\n".join(f.name for f in self.files).encode()
        return {"rank": self.rank, "world_size": self.world_size,
                "shuffle_seed": self.shuffle_seed, "buffer_size": self.buffer_size,
                "num_files": len(self.files), "files_sha1": hashlib.sha1(names).hexdigest()[:16]}

    def state_dict(self) -> dict[str, Any]:
        """A small JSON-able position: resume with ``load_state_dict`` on an identical stream."""
        return {"version": STATE_VERSION, "epoch": self.epoch, "cursor": asdict(self._cur),
                "consumed_in_window": self._emitted, "skipped": self.skipped,
                **self._fingerprint()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"data stream state version {state.get('version')!r} is not "
                             f"{STATE_VERSION}; it was saved by another thinkvl version")
        mine = self._fingerprint()
        diff = [f"{k}: saved {state.get(k)!r}, now {v!r}" for k, v in mine.items()
                if state.get(k) != v]
        if diff:
            raise ValueError("data stream state does not match this stream (resume needs the "
                             "same files, rank, world size, seed and buffer size): "
                             + "; ".join(diff))
        self.epoch = int(state["epoch"])
        self._cur = _Cursor(**state["cursor"])
        self._emitted = int(state["consumed_in_window"])
        self.skipped = int(state.get("skipped", 0))


def read_records(path_or_glob: PathSpec, *, rank: int = 0, world_size: int = 1,
                 shuffle_seed: int | None = None, skip_invalid: bool = False,
                 validate: bool = True, kind: str | None = None, buffer_size: int = 10_000,
                 max_problems: int = 100, media_roots: tuple = ()) -> RecordStream:
    """Stream records from files/globs/folders for one data-parallel rank (see ``RecordStream``).

    By default a bad record raises ``RecordError`` (``FILE:LINE: field: problem``); with
    ``skip_invalid=True`` it is counted in ``.skipped`` and listed in ``.problems``.
    """
    return RecordStream(expand_paths(path_or_glob), rank=rank, world_size=world_size,
                        shuffle_seed=shuffle_seed, buffer_size=buffer_size,
                        skip_invalid=skip_invalid, validate=validate, kind=kind,
                        max_problems=max_problems, media_roots=media_roots)


# -- helpers -------------------------------------------------------------------------------------


def _record_error(path: Path, line: int, errs: list[Problem]) -> RecordError:
    return RecordError(path, line, errs[0].field, errs[0].message, more=errs[1:])
