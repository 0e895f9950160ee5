"""Benchmarks: a registry of loaders that turn local benchmark files into :class:`EvalItem` s.

Each loader reads a benchmark in its *published* format (MathVista, MMMU, Video-MME) or
thinkvl's own RL/eval records (any JSONL/Parquet file, the synthetic world's
``rl_eval.jsonl``), and tags each item with a *scoring family* so every benchmark is scored by
the reward system's verifiers the same way. Nothing is downloaded: a benchmark is named as
``NAME:PATH`` (a file or folder), or ``NAME`` looked up under a data root.
"""

from __future__ import annotations

import ast
import base64
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Scoring families: how a prediction is verified (see scoring.py).
CHOICE = "choice"  # one option letter
NUMERIC = "numeric"  # a number, compared at the benchmark's precision
OCR = "ocr"  # text similarity, ANLS (normalised edit distance with a 0.5 threshold)
GROUNDING = "grounding"  # boxes, IoU > 0.5
GUI = "gui"  # actions, point inside the target box
OPEN = "open"  # free text: exact, then the LLM judge
NATIVE = "native"  # thinkvl records: the record's own domain verifier
FAMILIES = (CHOICE, NUMERIC, OCR, GROUNDING, GUI, OPEN, NATIVE)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class EvalItem:
    """One question: chat prompt (media as path, data URI, PIL image or frame list), gold answer.

    ``domain`` is the reward-system domain whose verifier scores it; ``group`` is what reports
    break scores down by (the domain, or a benchmark's own category such as video duration).
    """

    id: str
    bench: str
    family: str
    domain: str
    prompt: list[dict]
    answer: Any
    question: str = ""
    base_dir: str | None = None
    group: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"item {self.id}: unknown scoring family {self.family!r}; "
                             f"expected one of {', '.join(FAMILIES)}")
        self.group = self.group or self.domain


Loader = Callable[[Path], Iterator[EvalItem]]


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    loader: Loader
    default_path: str  # relative to the data root
    family: str  # the main scoring family (items may differ, e.g. MathVista free-form)
    description: str


REGISTRY: dict[str, BenchmarkSpec] = {}


def register(spec: BenchmarkSpec) -> BenchmarkSpec:
    """Add a benchmark (third-party code can register its own loaders)."""
    REGISTRY[spec.name] = spec
    return spec


@dataclass
class Benchmark:
    name: str
    path: Path
    items: list[EvalItem]


# -- shared helpers ------------------------------------------------------------------------------


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    """Raw rows of a published benchmark file (.parquet, .jsonl, or a .json list)."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
            yield from batch.to_pylist()
    elif name.endswith((".jsonl", ".ndjson")):
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ValueError(f"{path}:{n}: invalid JSON: {exc.msg}") from None
    elif name.endswith(".json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON list of rows")
        yield from data
    else:
        raise ValueError(f"{path}: unsupported benchmark file (expected .parquet, .jsonl or .json)")


def _files(path: Path) -> list[Path]:
    """A file, or the benchmark files of a folder (sorted, so item order is stable)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.rglob("*")
                       if p.is_file() and p.suffix.lower() in (".parquet", ".jsonl", ".json"))
        if found:
            return found
        raise FileNotFoundError(f"{path}: folder holds no .parquet/.jsonl/.json benchmark files")
    raise FileNotFoundError(f"{path}: no such benchmark file or folder")


def _mime(data: bytes) -> str:
    for magic, mime in ((b"\x89PNG", "image/png"), (b"\xff\xd8", "image/jpeg"),
                        (b"GIF8", "image/gif"), (b"RIFF", "image/webp"), (b"BM", "image/bmp")):
        if data.startswith(magic):
            return mime
    return "image/png"


def image_ref(value: Any, base_dir: Path) -> str | None:
    """A published image cell as a reference load_image takes: a data URI or an absolute path.

    Hugging Face ``datasets`` store images as ``{"bytes": …, "path": …}``.
    """
    if value is None:
        return None
    if isinstance(value, dict):
        raw = value.get("bytes")
        if raw:
            return f"data:{_mime(raw)};base64,{base64.b64encode(raw).decode()}"
        value = value.get("path")
        if not value:
            return None
    if isinstance(value, (bytes, bytearray)):
        return f"data:{_mime(bytes(value))};base64,{base64.b64encode(bytes(value)).decode()}"
    if isinstance(value, str):
        if value.startswith("data:"):
            return value
        p = Path(value)
        return str(p if p.is_absolute() else base_dir / p)
    raise ValueError(f"unsupported image cell of type {type(value).__name__}")


def options_text(options: list[str]) -> str:
    return "\n".join(f"({LETTERS[i]}) {o}" for i, o in enumerate(options))


def _user(parts: list[dict]) -> list[dict]:
    return [{"role": "user", "content": parts}]


# -- MathVista -----------------------------------------------------------------------------------


def load_mathvista(path: Path) -> Iterator[EvalItem]:
    """MathVista (testmini) parquet: pid, question, choices, answer, answer_type, precision,
    unit, query, decoded_image. Multiple choice is scored by letter; free-form numbers at the
    published precision; text/list answers by exact match then judge."""
    for file in _files(path):
        for row in _rows(file):
            pid = str(row["pid"])
            choices = [str(c) for c in (row.get("choices") or [])]
            query = row.get("query") or row["question"]
            if choices and not row.get("query"):
                query = f"{row['question']}\nChoices:\n{options_text(choices)}"
            image = image_ref(row.get("decoded_image") or row.get("image"), file.parent)
            parts = ([{"type": "image", "image": image}] if image else [])
            parts.append({"type": "text", "text": query})
            answer, atype = row["answer"], row.get("answer_type") or "text"
            meta = {"answer_type": atype, "precision": row.get("precision"),
                    "unit": row.get("unit"), "choices": choices}
            if choices:
                if str(answer) not in choices:
                    raise ValueError(f"{file}: pid {pid}: answer {answer!r} is not one of its "
                                     f"choices {choices}")
                family, domain = CHOICE, "choice"
                meta["answer_text"] = str(answer)
                answer = LETTERS[choices.index(str(answer))]
            elif atype in ("integer", "float"):
                family, domain = NUMERIC, "math"
            else:
                family, domain = OPEN, "vqa"
            yield EvalItem(id=pid, bench="mathvista", family=family, domain=domain,
                           prompt=_user(parts), answer=answer, question=query,
                           base_dir=str(file.parent), meta=meta)


# -- MMMU ----------------------------------------------------------------------------------------

_IMAGE_TAG = re.compile(r"<image (\d+)>")


def _interleave(text: str, images: dict[int, str], used: set[int]) -> list[dict]:
    """Split ``text`` at ``<image N>`` tags into text and image parts (MMMU's layout)."""
    parts: list[dict] = []
    pos = 0
    for m in _IMAGE_TAG.finditer(text):
        if m.start() > pos:
            parts.append({"type": "text", "text": text[pos:m.start()]})
        n = int(m.group(1))
        if n in images and n not in used:
            parts.append({"type": "image", "image": images[n]})
            used.add(n)
        else:
            parts.append({"type": "text", "text": m.group(0)})
        pos = m.end()
    if pos < len(text):
        parts.append({"type": "text", "text": text[pos:]})
    return parts


def _parse_options(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = ast.literal_eval(value)  # published as a Python list literal; literal_eval is safe
    return [str(v) for v in value]


def load_mmmu(path: Path) -> Iterator[EvalItem]:
    """MMMU parquet: id, question with ``<image N>`` tags, options (a list literal),
    image_1..image_7, answer, question_type (multiple-choice | open)."""
    for file in _files(path):
        for row in _rows(file):
            images = {n: ref for n in range(1, 8)
                      if (ref := image_ref(row.get(f"image_{n}"), file.parent))}
            used: set[int] = set()
            options = _parse_options(row.get("options"))
            parts = _interleave(row["question"], images, used)
            is_choice = row.get("question_type", "multiple-choice") == "multiple-choice" and options
            if is_choice:
                parts.append({"type": "text", "text": "\nOptions:\n"})
                for i, opt in enumerate(options):
                    parts += _interleave(f"({LETTERS[i]}) {opt}\n", images, used)
            unused = [n for n in sorted(images) if n not in used]
            parts = [{"type": "image", "image": images[n]} for n in unused] + parts
            answer: Any = row["answer"]
            if isinstance(answer, str) and answer.startswith("["):
                try:
                    answer = [str(a) for a in ast.literal_eval(answer)]
                except (ValueError, SyntaxError):
                    pass
            family, domain = (CHOICE, "choice") if is_choice else (OPEN, "vqa")
            text = "".join(p["text"] for p in parts if p["type"] == "text")
            yield EvalItem(id=str(row["id"]), bench="mmmu", family=family, domain=domain,
                           prompt=_user(parts), answer=answer, question=text,
                           base_dir=str(file.parent), group=_mmmu_subject(str(row["id"])),
                           meta={"choices": options, "question_type": row.get("question_type")})


def _mmmu_subject(item_id: str) -> str:
    """``validation_Art_Theory_3`` → ``Art_Theory``."""
    parts = item_id.split("_")
    return "_".join(parts[1:-1]) if len(parts) > 2 else "mmmu"


# -- Video-MME -----------------------------------------------------------------------------------

_VIDEO_EXTS = (".mp4", ".mkv", ".webm", ".avi", ".mov")


def find_video(video_id: str, roots: list[Path]) -> Path:
    for root in roots:
        for ext in _VIDEO_EXTS:
            p = root / f"{video_id}{ext}"
            if p.exists():
                return p
        if (root / video_id).is_dir():  # a folder of extracted frames
            return root / video_id
    raise FileNotFoundError(f"video {video_id!r} not found in {', '.join(map(str, roots))}; "
                            f"put the Video-MME videos in a 'videos' folder beside the file")


def load_videomme(path: Path) -> Iterator[EvalItem]:
    """Video-MME parquet: videoID, question, options ("A. …"), answer (letter), duration,
    domain, task_type. Videos are looked up as ``videos/<videoID>.mp4`` beside the file."""
    for file in _files(path):
        roots = [file.parent / "videos", file.parent / "data", file.parent]
        for row in _rows(file):
            options = _parse_options(row.get("options"))
            video = find_video(str(row["videoID"]), roots)
            text = (f"{row['question']}\n" + "\n".join(options)
                    + "\nAnswer with the option's letter from the given choices.")
            qid = str(row.get("question_id") or f"{row['videoID']}-{row['question']}")
            yield EvalItem(id=qid, bench="videomme", family=CHOICE, domain="choice",
                           prompt=_user([{"type": "video", "video": str(video)},
                                         {"type": "text", "text": text}]),
                           answer=str(row["answer"]).strip(), question=text,
                           base_dir=str(file.parent), group=str(row.get("duration") or "all"),
                           meta={"choices": [re.sub(r"^[A-Z][.)]\s*", "", o) for o in options],
                                 "task_type": row.get("task_type"),
                                 "category": row.get("domain")})


# -- thinkvl records -----------------------------------------------------------------------------

_DOMAIN_FAMILY = {"choice": CHOICE, "ocr": OCR, "grounding": GROUNDING, "gui": GUI}


def items_from_records(records, bench: str = "records",
                       base_dir: str | Path | None = None) -> Iterator[EvalItem]:
    """EvalItems from thinkvl RL/eval records (dicts with id, domain, prompt, answer, meta).
    Relative media paths resolve against the record's file (``_source``), else ``base_dir``."""
    from thinkvl.data.io import base_dir_of

    for n, rec in enumerate(records):
        missing = [k for k in ("domain", "prompt", "answer") if k not in rec]
        if missing:
            where = rec.get("_source", f"record {n}")
            raise ValueError(f"{where}: not an RL/eval record (missing {', '.join(missing)})")
        base = base_dir_of(rec) or base_dir
        prompt = rec["prompt"]
        text = " ".join(p.get("text", "") for m in prompt if isinstance(m.get("content"), list)
                        for p in m["content"]) or " ".join(
            m["content"] for m in prompt if isinstance(m.get("content"), str))
        yield EvalItem(id=str(rec.get("id", n)), bench=bench,
                       family=_DOMAIN_FAMILY.get(rec["domain"], NATIVE), domain=rec["domain"],
                       prompt=prompt, answer=rec["answer"], question=text.strip(),
                       base_dir=str(base) if base else None, meta=dict(rec.get("meta") or {}))


def load_records(path: Path, bench: str = "records") -> Iterator[EvalItem]:
    """thinkvl's own RL/eval record files (JSONL/Parquet, globs or folders)."""
    from thinkvl.data.io import read_records

    yield from items_from_records(read_records(str(path), kind="rl"), bench=bench)


def load_synthetic(path: Path) -> Iterator[EvalItem]:
    """The synthetic world's held-out ``rl_eval.jsonl`` (a world folder or the file itself)."""
    file = path / "rl_eval.jsonl" if path.is_dir() else path
    if not file.exists():
        raise FileNotFoundError(f"{file}: no rl_eval.jsonl; make a world with `thinkvl synth`")
    yield from load_records(file, bench="synthetic")


register(BenchmarkSpec("mathvista", load_mathvista, "mathvista", CHOICE,
                       "MathVista testmini (parquet with decoded_image)"))
register(BenchmarkSpec("mmmu", load_mmmu, "mmmu", CHOICE, "MMMU validation (parquet per subject)"))
register(BenchmarkSpec("videomme", load_videomme, "videomme", CHOICE,
                       "Video-MME (parquet + videos/<videoID>.mp4)"))
register(BenchmarkSpec("records", load_records, "records", NATIVE,
                       "thinkvl RL/eval records (JSONL/Parquet)"))
register(BenchmarkSpec("synthetic", load_synthetic, "synthetic", NATIVE,
                       "the synthetic world's rl_eval.jsonl"))


def parse_bench(spec: str, data_root: str | Path | None = None) -> tuple[str, str, Path]:
    """``NAME``, ``NAME:PATH`` or ``ALIAS=NAME:PATH`` → (display name, loader name, path)."""
    alias, _, rest = spec.partition("=") if "=" in spec else ("", "", spec)
    name, sep, path = rest.partition(":")
    name = name.strip().lower()
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown benchmark {name!r} in {spec!r}; known: {known} "
                         "(use records:PATH for thinkvl JSONL/Parquet files)")
    if sep and path:
        where = Path(path).expanduser()
    elif data_root is not None:
        where = Path(data_root).expanduser() / REGISTRY[name].default_path
    else:
        raise ValueError(f"benchmark {spec!r} has no path: write {name}:PATH or set a data root "
                         f"(--data-root); no benchmark is downloaded")
    display = alias.strip() or (name if name != "records" else where.stem)
    return display, name, where


def load_benchmark(spec: str, data_root: str | Path | None = None,
                   limit: int | None = None) -> Benchmark:
    """Load one benchmark named as in :func:`parse_bench`; ``limit`` keeps the first N items."""
    display, name, path = parse_bench(spec, data_root)
    items: list[EvalItem] = []
    for item in REGISTRY[name].loader(path):
        item.bench = display
        items.append(item)
        if limit is not None and len(items) >= limit:
            break
    if not items:
        raise ValueError(f"benchmark {display} ({path}) holds no items")
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ValueError(f"benchmark {display} ({path}): item id {dup!r} appears more than once")
    return Benchmark(display, path, items)
