"""Reading published benchmark files: rows through ``datasets``, fields, images and videos.

A benchmark is named by a file or a folder as the Hugging Face hub publishes it (a snapshot
of the dataset repository: parquet shards per split and config, JSON/JSONL, VLMEvalKit TSVs,
or a ``save_to_disk`` folder). Rows are streamed through ``datasets`` (no Arrow cache is
written, nothing is downloaded) with image columns left undecoded (``{"bytes", "path"}``), so
a 10 GB benchmark is read lazily and each image becomes a data URI only for its own item.

Every error names the file, the row and the field, and what was expected.
"""

from __future__ import annotations

import ast
import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA_SUFFIXES = (".parquet", ".jsonl", ".ndjson", ".json", ".tsv", ".csv")
_NOT_DATA = {"dataset_info.json", "state.json", "dataset_dict.json", "config.json"}
_BUILDERS = {".parquet": "parquet", ".jsonl": "json", ".ndjson": "json", ".json": "json",
             ".tsv": "csv", ".csv": "csv"}
VIDEO_EXTS = (".mp4", ".mkv", ".webm", ".avi", ".mov")


class RowError(ValueError):
    """A row that does not have the published shape (message: FILE row N: what is wrong)."""


def _tokens(rel: str) -> set[str]:
    return set(re.split(r"[-_./\\ ]+", rel.lower()))


def data_files(path: Path, split: str | None = None, config: str | None = None) -> list[Path]:
    """A file, a glob, or a folder's data files — those of ``config`` (a sub-folder name, as
    in a hub snapshot) and ``split`` (a word of the file's path, e.g. ``test-00000-of-1``)
    when any file has them, and only the parquet shards when there are any (a snapshot's
    JSON files beside them, such as MathVista's ``annot_testmini.json``, are metadata);
    sorted, so item order is stable."""
    text = str(path)
    if any(c in text for c in "*?["):
        found = sorted(p for p in Path("/").glob(text.lstrip("/")) if p.is_file()) \
            if path.is_absolute() else sorted(p for p in Path().glob(text) if p.is_file())
        if not found:
            raise FileNotFoundError(f"{path}: the pattern matches no file")
        return found
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such benchmark file or folder")
    found = sorted(p for p in path.rglob("*") if p.is_file()
                   and p.name.lower().endswith(DATA_SUFFIXES) and p.name not in _NOT_DATA
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if config:
        mine = [p for p in found if config in p.relative_to(path).parts[:-1]]
        found = mine or found
    if split:
        mine = [p for p in found if split.lower() in _tokens(p.relative_to(path).as_posix())]
        found = mine or found
    shards = [p for p in found if p.suffix.lower() == ".parquet"]
    if shards:  # a hub snapshot's parquet shards are the data; JSON beside them is metadata
        found = shards
    if not found:
        raise FileNotFoundError(f"{path}: folder holds no {'/'.join(DATA_SUFFIXES)} files")
    return found


def _undecoded(ds):
    """Image (and audio/video) columns as stored: ``{"bytes", "path"}``, not decoded objects."""
    import datasets

    feats = getattr(ds, "features", None) or {}
    for name, feat in feats.items():
        if isinstance(feat, datasets.Image):
            ds = ds.cast_column(name, datasets.Image(decode=False))
        elif isinstance(feat, (datasets.Sequence, list)):
            inner = feat.feature if isinstance(feat, datasets.Sequence) else feat[0]
            if isinstance(inner, datasets.Image):
                ds = ds.cast_column(name, datasets.Sequence(datasets.Image(decode=False)))
    return ds


def _keyed_records(file: Path) -> list[dict] | None:
    """An object of records keyed by id (MM-Vet's ``mm-vet.json``: ``{"v1_0": {...}}``),
    which ``datasets`` would read as one row: rows with that key as ``_key``."""
    with open(file, encoding="utf-8") as f:
        head = f.read(1024).lstrip()
    if not head.startswith("{") or "\n{" in head:  # JSON Lines start with "{" too
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except ValueError:
        return None
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        return [{"_key": k, **v} for k, v in data.items()]
    return None


def iter_rows(file: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number from 1, row) of one data file, streamed through ``datasets``."""
    import datasets

    datasets.disable_progress_bars()
    builder = _BUILDERS.get(file.suffix.lower())
    if builder is None:
        raise ValueError(f"{file}: unsupported benchmark file (expected one of "
                         f"{', '.join(DATA_SUFFIXES)})")
    kwargs: dict[str, Any] = {"delimiter": "\t"} if file.suffix.lower() == ".tsv" else {}
    if file.suffix.lower() == ".json" and (rows := _keyed_records(file)) is not None:
        yield from enumerate(rows, 1)
        return
    try:
        ds = datasets.load_dataset(builder, data_files=[str(file)], split="train", streaming=True,
                                   **kwargs)
        ds = _undecoded(ds)
        yield from enumerate(ds, 1)
    except Exception as exc:  # noqa: BLE001 - datasets/pyarrow raise many types for bad files
        raise ValueError(f"{file}: cannot read it as {builder}: {type(exc).__name__}: "
                         f"{str(exc)[:300]}") from None


def read_rows(path: Path, split: str | None = None, config: str | None = None
              ) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    """(file, row number, row) for every row of a benchmark file, glob or folder (see
    :func:`data_files`); a ``save_to_disk`` folder is read with ``load_from_disk``."""
    if path.is_dir() and ((path / "state.json").exists() or (path / "dataset_dict.json").exists()):
        yield from _from_disk(path, split)
        return
    for file in data_files(path, split, config):
        for n, row in iter_rows(file):
            yield file, n, row


def _from_disk(path: Path, split: str | None):
    import datasets

    ds = datasets.load_from_disk(str(path))
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise ValueError(f"{path}: no split {split!r} (has {', '.join(ds)})")
        ds = ds[split]
    for n, row in enumerate(_undecoded(ds), 1):
        yield path / "state.json", n, row


def field(row: dict[str, Any], *names: str, where: str, default: Any = ...) -> Any:
    """The first present field of ``names`` (published variants of one column), else
    ``default``; with no default a missing field is an error naming the row's columns."""
    for name in names:
        if name in row and row[name] is not None:
            return row[name]
    if default is not ...:
        return default
    want = " or ".join(repr(n) for n in names)
    raise RowError(f"{where}: no field {want} (the row has: {', '.join(sorted(row))})")


def as_list(value: Any, where: str = "") -> list[Any]:
    """A list cell as published: a list, a Python/JSON list literal, or a single value."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str) and value.strip()[:1] in "[(":
        try:
            got = ast.literal_eval(value.strip())  # literal_eval evaluates no code
        except (ValueError, SyntaxError):
            raise RowError(f"{where}: {value[:80]!r} is not a list literal") from None
        return list(got) if isinstance(got, (list, tuple)) else [got]
    if hasattr(value, "tolist"):
        return list(value.tolist())
    return [value]


# -- images ------------------------------------------------------------------------------------

def _mime(data: bytes) -> str:
    for magic, mime in ((b"\x89PNG", "image/png"), (b"\xff\xd8", "image/jpeg"),
                        (b"GIF8", "image/gif"), (b"RIFF", "image/webp"), (b"BM", "image/bmp")):
        if data.startswith(magic):
            return mime
    return "image/png"


def _data_uri(raw: bytes) -> str:
    return f"data:{_mime(raw)};base64,{base64.b64encode(raw).decode()}"


_B64_HEADS = ("iVBOR", "/9j/", "R0lGOD", "UklGR", "Qk")  # PNG, JPEG, GIF, WEBP, BMP
_B64_RE = re.compile(r"[A-Za-z0-9+/=\s]+")  # no dot: a path would have an extension


def image_ref(value: Any, roots: Path | list[Path], where: str = "") -> str | None:
    """A published image cell as a reference ``load_image`` takes: a data URI or a path.

    Accepts ``datasets`` image cells (``{"bytes", "path"}``), raw bytes, base64 strings
    (VLMEvalKit TSVs), data URIs and paths, relative ones resolved against ``roots`` in
    order (the file's folder first, then the benchmark folder): the first that exists wins,
    and none existing is an error naming where it looked.
    """
    roots = [roots] if isinstance(roots, Path) else roots
    if value is None:
        return None
    if isinstance(value, dict):
        raw = value.get("bytes")
        if raw:
            return _data_uri(bytes(raw))
        value = value.get("path")
        if not value:
            return None
    if isinstance(value, (bytes, bytearray)):
        return _data_uri(bytes(value))
    if hasattr(value, "save") and hasattr(value, "size"):  # a PIL image
        import io

        buf = io.BytesIO()
        value.convert("RGB").save(buf, format="PNG")
        return _data_uri(buf.getvalue())
    if not isinstance(value, str):
        raise RowError(f"{where}: unsupported image cell of type {type(value).__name__}")
    if value.startswith("data:"):
        return value
    if len(value) > 256 and value.startswith(_B64_HEADS) and _B64_RE.fullmatch(value[:2048]):
        return _data_uri(base64.b64decode(value))
    p = Path(value)
    if p.is_absolute():
        candidates = [p]
    else:
        candidates = [r / p for r in roots] + [r / p.name for r in roots]
    for c in candidates:
        if c.exists():
            return str(c)
    looked = ", ".join(str(r) for r in roots)
    raise RowError(f"{where}: image {value!r} not found (looked under {looked}); put the "
                   f"benchmark's image folder beside its data files")


def image_size(ref: str) -> tuple[int, int]:
    """(width, height) of an image reference, reading only its header."""
    import io

    from PIL import Image

    if ref.startswith("data:"):
        src: Any = io.BytesIO(base64.b64decode(ref.partition(",")[2]))
    else:
        src = ref
    with Image.open(src) as img:
        return img.size


def roots_for(file: Path, top: Path) -> list[Path]:
    """The file's folder and its parents up to the benchmark folder (hub snapshots keep
    images beside the repository root while data shards sit in ``data/``)."""
    out = [file.parent]
    top = top if top.is_dir() else top.parent
    p = file.parent
    while p != top and top in p.parents:
        p = p.parent
        out.append(p)
    if top not in out:
        out.append(top)
    return out


# -- videos ------------------------------------------------------------------------------------

class MediaIndex:
    """Videos (files or frame folders) under some roots, found by id or file name — built once
    per benchmark, since a recursive search per item would be quadratic."""

    def __init__(self, roots: list[Path], hint: str = "") -> None:
        self.roots = [r for r in roots if r.is_dir()]
        self.hint = hint
        self._by_name: dict[str, Path] | None = None

    def _index(self) -> dict[str, Path]:
        if self._by_name is None:
            self._by_name = {}
            for root in self.roots:
                for p in sorted(root.rglob("*")):
                    if p.suffix.lower() in VIDEO_EXTS or p.is_dir():
                        self._by_name.setdefault(p.name, p)
                        if p.suffix.lower() in VIDEO_EXTS:
                            self._by_name.setdefault(p.stem, p)
        return self._by_name

    def find(self, name: str, where: str = "", subdirs: tuple[str, ...] = ()) -> Path:
        """``name`` (an id, a file name or a relative path) as an existing video file/folder."""
        name = str(name).strip()
        for root in self.roots:
            for sub in ("", *subdirs):
                base = root / sub / name if sub else root / name
                if base.is_file() or base.is_dir():
                    return base
                for ext in VIDEO_EXTS:
                    if (cand := base.with_name(base.name + ext)).is_file():
                        return cand
        found = self._index().get(Path(name).name) or self._index().get(Path(name).stem)
        if found is not None:
            return found
        looked = ", ".join(str(r) for r in self.roots) or "(no existing folder)"
        raise RowError(f"{where}: video {name!r} not found under {looked}. {self.hint}".strip())
