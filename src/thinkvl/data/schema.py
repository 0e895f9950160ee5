"""Record schema: which fields each record kind needs, and a validator that names every problem.

Three record kinds share the Hugging Face chat-message convention (see DESIGN.md, "Data records"):
``pretrain`` (``kind`` + ``messages`` or ``text``), ``sft`` (``domain`` + ``messages`` ending in a
protocol-formatted assistant turn) and ``rl`` (``domain`` + ``prompt`` + ``answer``; eval records
are the same shape). The validator never stops at the first problem: data is fixed in bulk, so a
report that lists everything at once saves round trips. It imports nothing heavy (no torch, no
pyarrow) so readers, the CLI and external tools can call it per record.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thinkvl.data.mediacheck import (  # noqa: F401 - split_data_uri/image_format re-exported
    MediaPolicy,
    confine,
    file_problem,
    image_format,
    image_problem,
    split_data_uri,
    video_problem,
)
from thinkvl.format import parse_response

RECORD_KINDS = ("pretrain", "sft", "rl")
KIND_ALIASES = {"pretrain": "pretrain", "pt": "pretrain", "sft": "sft", "rl": "rl", "eval": "rl"}
PRETRAIN_KINDS = ("caption", "interleaved", "ocr", "grounding", "video", "text")
KNOWN_DOMAINS = (
    "math", "physics", "chemistry", "chart", "ocr", "counting", "choice", "vqa", "video",
    "grounding", "gui", "spatial", "long_doc", "general",
)
ROLES = ("system", "user", "assistant")
CONTENT_TYPES = ("text", "image", "video")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpeg", ".mpg", ".flv", ".gif")
# Pre-training kinds that are useless without media of this sort.
_NEEDS_MEDIA = {"caption": "image", "interleaved": "image", "ocr": "image",
                "grounding": "image", "video": "video"}



@dataclass(frozen=True)
class Problem:
    """One thing wrong with a record. ``field`` is a path such as ``messages[1].content[0].image``.

    ``severity`` is ``"error"`` (the record is bad) or ``"warning"`` (suspicious but usable, e.g.
    an unknown domain); only errors make a reader raise or skip.
    """

    field: str
    message: str
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.field}: {prefix}{self.message}"


class RecordError(ValueError):
    """A bad record, located: ``str(err)`` is ``FILE:LINE: field: problem``.

    For Parquet files ``line`` is the 1-based row number; ``line == 0`` means the file itself.
    ``more`` holds the record's further problems; each adds a line in the same format.
    """

    def __init__(self, file: str | os.PathLike[str], line: int, field: str, problem: str,
                 more: Sequence[Problem] = ()) -> None:
        self.file = str(file)
        self.line = line
        self.field = field
        self.problem = problem
        self.more = list(more)
        super().__init__("\n".join([self.location_text()] + [
            self.location_text(p.field, p.message) for p in self.more]))

    def location_text(self, field: str | None = None, problem: str | None = None) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {field or self.field}: {problem or self.problem}"

    def __reduce__(self):  # keep it picklable (DataLoader workers send errors across processes)
        return (RecordError, (self.file, self.line, self.field, self.problem, self.more))


def normalize_kind(kind: str | None) -> str | None:
    """Map a user-given kind (``pretrain|sft|rl``, ``eval`` = ``rl``) to its canonical name."""
    if kind is None:
        return None
    try:
        return KIND_ALIASES[kind.lower()]
    except KeyError:
        raise ValueError(f"unknown record kind {kind!r}; use one of pretrain, sft, rl") from None


def detect_kind(rec: dict[str, Any]) -> str | None:
    """Tell the record kind from its fields: ``prompt``/``answer`` → rl, ``kind``/``text`` →
    pretrain, ``messages`` + ``domain`` → sft; None when it cannot be told."""
    if "prompt" in rec or "answer" in rec:
        return "rl"
    if "kind" in rec or "text" in rec:
        return "pretrain"
    if "messages" in rec and "domain" in rec:
        return "sft"
    return None


def validate_record(
    rec: Any, *, base_dir: Path | None, kind: str | None = None,
    media: MediaPolicy | None = None,
) -> list[Problem]:
    """Every problem with ``rec`` (empty list = valid). Warnings are included with
    ``severity="warning"``.

    ``base_dir`` is the folder of the data file: relative media paths resolve against it, and
    every media path must resolve (symlinks followed) to a regular file inside it or one of
    ``media.roots``. ``media.decode`` also decodes every image and video (data check). With
    ``base_dir=None`` files are not looked at (data URIs still are).
    """
    v = _Validator(base_dir, media or MediaPolicy())
    if not isinstance(rec, dict):
        v.err("record", f"expected a JSON object, got {_type_name(rec)}")
        return v.problems
    kind = normalize_kind(kind) or detect_kind(rec)
    if kind is None:
        v.err("record", "cannot tell the record kind: pre-training records need 'kind', SFT "
              "records 'domain' + 'messages', RL/eval records 'prompt' + 'answer' "
              "(or force one with --kind pretrain|sft|rl)")
        return v.problems
    v.id_field(rec)
    {"pretrain": v.pretrain, "sft": v.sft, "rl": v.rl}[kind](rec)
    return v.problems


def errors_only(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number"}.get(type(value), type(value).__name__)


class _Validator:
    """Collects problems for one record; one method per part of the schema."""

    def __init__(self, base_dir: Path | None, media: MediaPolicy) -> None:
        self.base_dir = base_dir
        self.media = media
        self._roots: list[str] | None = None
        self.problems: list[Problem] = []

    def err(self, field: str, message: str) -> None:
        self.problems.append(Problem(field, message))

    def warn(self, field: str, message: str) -> None:
        self.problems.append(Problem(field, message, "warning"))

    # -- top-level fields ------------------------------------------------------------------

    def id_field(self, rec: dict[str, Any]) -> None:
        self.nonempty_str(rec, "id")

    def nonempty_str(self, rec: dict[str, Any], key: str, *, required: bool = True) -> bool:
        if key not in rec:
            if required:
                self.err(key, "missing (required string)")
            return False
        value = rec[key]
        if not isinstance(value, str):
            self.err(key, f"expected a string, got {_type_name(value)}")
            return False
        if not value.strip():
            self.err(key, "empty string")
            return False
        return True

    def domain(self, rec: dict[str, Any]) -> None:
        if self.nonempty_str(rec, "domain") and rec["domain"] not in KNOWN_DOMAINS:
            self.warn("domain", f"unknown domain {rec['domain']!r} (known: "
                      f"{', '.join(KNOWN_DOMAINS)}); no verifier may route it")

    # -- record kinds ------------------------------------------------------------------------

    def pretrain(self, rec: dict[str, Any]) -> None:
        sub = rec.get("kind")
        if "kind" not in rec:
            self.err("kind", f"missing (one of {'|'.join(PRETRAIN_KINDS)})")
        elif sub not in PRETRAIN_KINDS:
            self.err("kind", f"unknown pre-training kind {sub!r} "
                     f"(expected one of {'|'.join(PRETRAIN_KINDS)})")
            sub = None
        images = self.images_list(rec)
        media = {"image": len(images or []), "video": 0}
        if "video" in rec:
            media["video"] += self.video_ref(rec["video"], "video")
        if sub == "text":
            self.nonempty_str(rec, "text", required="messages" not in rec)
            if "messages" not in rec:
                return
        elif "messages" not in rec:
            self.err("messages", f"missing (required for kind {sub or '?'!r}; only kind 'text' "
                     "records use a plain 'text' field)")
            return
        counts = self.messages(rec["messages"], "messages", images=images)
        media["image"] += counts["image"]
        media["video"] += counts["video"]
        need = _NEEDS_MEDIA.get(sub or "")
        if need and not media[need]:
            self.err("messages", f"kind {sub!r} needs at least one {need}, found none")

    def sft(self, rec: dict[str, Any]) -> None:
        self.domain(rec)
        if "messages" not in rec:
            self.err("messages", "missing (required list of chat messages)")
            return
        msgs = rec["messages"]
        self.messages(msgs, "messages", images=self.images_list(rec))
        if not isinstance(msgs, list) or not msgs:
            return
        roles = [m.get("role") if isinstance(m, dict) else None for m in msgs]
        if roles[-1] != "assistant":
            self.err(f"messages[{len(msgs) - 1}].role",
                     f"the last message must be the assistant's answer, got {roles[-1]!r}")
        if "user" not in roles:
            self.err("messages", "no user message")
        for i, (msg, role) in enumerate(zip(msgs, roles, strict=True)):
            if role == "assistant" and isinstance(msg, dict):
                self.assistant_response(msg.get("content"), f"messages[{i}].content")

    def rl(self, rec: dict[str, Any]) -> None:
        self.domain(rec)
        if "prompt" not in rec:
            self.err("prompt", "missing (required list of user messages)")
        else:
            prompt = rec["prompt"]
            self.messages(prompt, "prompt", images=self.images_list(rec),
                          roles=("system", "user"))
            if isinstance(prompt, list) and prompt and isinstance(prompt[-1], dict) \
                    and prompt[-1].get("role") == "system":  # other roles: reported above
                self.err(f"prompt[{len(prompt) - 1}].role", "the prompt must end with a user "
                         "message")
        if "answer" not in rec:
            self.err("answer", "missing (the ground truth; any non-null JSON value)")
        elif rec["answer"] is None:
            self.err("answer", "is null (the ground truth must be a non-null JSON value)")
        if "difficulty" in rec:
            d = rec["difficulty"]
            if isinstance(d, bool) or not isinstance(d, (str, int)):
                self.err("difficulty", f"expected a tier name (string) or number (integer), "
                         f"got {_type_name(d)}")
        if "meta" in rec and not isinstance(rec["meta"], dict):
            self.err("meta", f"expected an object, got {_type_name(rec['meta'])}")

    # -- messages ------------------------------------------------------------------------------

    def messages(self, msgs: Any, field: str, *, images: list[Any] | None,
                 roles: tuple[str, ...] = ROLES) -> dict[str, int]:
        """Check a message list; returns media counts found in it."""
        counts = {"image": 0, "video": 0, "placeholder": 0}
        if not isinstance(msgs, list):
            self.err(field, f"expected a list of messages, got {_type_name(msgs)}")
            return counts
        if not msgs:
            self.err(field, "empty message list")
            return counts
        for i, msg in enumerate(msgs):
            self.message(msg, f"{field}[{i}]", roles, counts)
        if counts["placeholder"]:
            if images is None:
                self.err(field, f"{counts['placeholder']} image part(s) without an 'image' value "
                         "and no top-level 'images' list to fill them")
            elif counts["placeholder"] != len(images):
                self.err(field, f"{counts['placeholder']} image placeholder(s) but "
                         f"{len(images)} entries in 'images'")
        return counts

    def message(self, msg: Any, field: str, roles: tuple[str, ...],
                counts: dict[str, int]) -> None:
        if not isinstance(msg, dict):
            self.err(field, f"expected a message object, got {_type_name(msg)}")
            return
        role = msg.get("role")
        if "role" not in msg:
            self.err(f"{field}.role", f"missing (one of {'|'.join(roles)})")
        elif role not in roles:
            allowed = "|".join(roles)
            what = "invalid role" if role not in ROLES else "role not allowed here"
            self.err(f"{field}.role", f"{what} {role!r} (expected {allowed})")
        if "content" not in msg:
            self.err(f"{field}.content", "missing")
            return
        content = msg["content"]
        if isinstance(content, str):
            return
        if not isinstance(content, list):
            self.err(f"{field}.content", "expected a string or a list of parts, got "
                     f"{_type_name(content)}")
            return
        if not content:
            self.err(f"{field}.content", "empty list of parts")
        for j, part in enumerate(content):
            self.part(part, f"{field}.content[{j}]", counts)

    def part(self, part: Any, field: str, counts: dict[str, int]) -> None:
        if not isinstance(part, dict):
            self.err(field, f"expected a content part object, got {_type_name(part)}")
            return
        ptype = part.get("type")
        if ptype not in CONTENT_TYPES:
            self.err(f"{field}.type", f"unknown content type {ptype!r} "
                     f"(expected {'|'.join(CONTENT_TYPES)})" if "type" in part else
                     f"missing (one of {'|'.join(CONTENT_TYPES)})")
            return
        if ptype == "text":
            if not isinstance(part.get("text"), str):
                self.err(f"{field}.text", "missing" if "text" not in part else
                         f"expected a string, got {_type_name(part['text'])}")
        elif ptype == "image":
            if part.get("image") is None:
                counts["placeholder"] += 1  # filled from the record's "images" list
            else:
                counts["image"] += self.image_ref(part["image"], f"{field}.image")
        else:
            if "video" not in part:
                self.err(f"{field}.video", "missing (a video file or a folder of frames)")
            else:
                counts["video"] += self.video_ref(part["video"], f"{field}.video")

    def assistant_response(self, content: Any, field: str) -> None:
        if isinstance(content, list):
            texts = []
            for j, part in enumerate(content):
                if isinstance(part, dict) and part.get("type") == "text" \
                        and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif isinstance(part, dict) and part.get("type") in ("image", "video"):
                    self.err(f"{field}[{j}]", "assistant content may only hold text parts")
                    return
                else:
                    return  # already reported by message()
            content = "".join(texts)
        if not isinstance(content, str):
            return
        parsed = parse_response(content)
        if parsed.problems:
            self.err(field, "response not in the protocol format "
                     "(<think>…</think><answer>…<|begin_of_box|>X<|end_of_box|>…</answer>): "
                     + ", ".join(parsed.problems))

    # -- media -----------------------------------------------------------------------------------

    def images_list(self, rec: dict[str, Any]) -> list[Any] | None:
        if "images" not in rec:
            return None
        images = rec["images"]
        if not isinstance(images, list):
            self.err("images", f"expected a list of image paths or data URIs, got "
                     f"{_type_name(images)}")
            return None
        for i, ref in enumerate(images):
            self.image_ref(ref, f"images[{i}]")
        return images

    def image_ref(self, ref: Any, field: str) -> int:
        """Check one image reference; returns 1 when valid."""
        if not isinstance(ref, str) or not ref:
            self.err(field, "expected an image path or data URI, got "
                     + ("empty string" if ref == "" else _type_name(ref)))
            return 0
        if ref.startswith("data:"):
            try:
                mime, payload = split_data_uri(ref)
            except ValueError as exc:
                self.err(field, str(exc))
                return 0
            if mime and not mime.startswith("image/"):
                self.err(field, f"data URI has MIME type {mime!r}, expected image/*")
                return 0
            if image_format(payload[:16]) is None:
                self.err(field, "data URI does not decode to a known image format "
                         "(png, jpeg, gif, webp, bmp, tiff)")
                return 0
            why = image_problem(payload, self.media.max_pixels) if self.media.decode else None
            if why:
                self.err(field, why)
                return 0
            return 1
        if _is_url(ref):
            self.err(field, f"remote media is not supported ({ref[:40]}…); download it and "
                     "refer to the file")
            return 0
        path, real = self._path(ref, field)
        if path is None:
            return 1 if self.base_dir is None else 0  # unchecked, or reported outside
        if not os.path.isfile(real):  # os.path: ~3x cheaper than Path here
            self.err(field, f"image file not found: {path}" if not os.path.exists(real)
                     else f"not a file: {path}")
            return 0
        why = file_problem(real) or (
            image_problem(real, self.media.max_pixels) if self.media.decode else None)
        if why:
            self.err(field, why)
            return 0
        return 1

    def video_ref(self, ref: Any, field: str) -> int:
        """A video is a file (.mp4, …), a folder of frame images, or a list of frame images."""
        if isinstance(ref, list):
            if not ref:
                self.err(field, "empty list of frames")
                return 0
            ok = [self.image_ref(r, f"{field}[{i}]") for i, r in enumerate(ref)]
            return int(all(ok))
        if not isinstance(ref, str) or not ref:
            self.err(field, "expected a video file, a folder of frames or a list of frames, got "
                     + ("empty string" if ref == "" else _type_name(ref)))
            return 0
        if ref.startswith("data:") or _is_url(ref):
            self.err(field, "videos must be files or frame folders, not URIs")
            return 0
        where, real = self._path(ref, field)
        if where is None:
            return 1 if self.base_dir is None else 0  # unchecked, or reported outside
        path = Path(where)
        if os.path.isdir(real):
            return self._frames(Path(real), path, field)
        if not os.path.exists(real):
            self.err(field, f"video not found: {path}")
            return 0
        if not path.name.lower().endswith(VIDEO_EXTS):
            self.err(field, f"not a video file (expected one of {', '.join(VIDEO_EXTS)}) or a "
                     f"folder of frames: {path}")
            return 0
        why = file_problem(real) or (
            video_problem(real, self.media.max_pixels) if self.media.decode else None)
        if why:
            self.err(field, why)
            return 0
        return 1

    def _frames(self, real: Path, path: Path, field: str) -> int:
        """A frame folder: image files, each inside the media roots (and decodable)."""
        frames = sorted(e.path for e in os.scandir(real)
                        if e.name.lower().endswith(IMAGE_EXTS) and e.is_file())
        if not frames:
            self.err(field, f"frame folder has no image files: {path}")
            return 0
        for frame in frames:
            inside, why = confine(frame, self._allowed())
            why = why or file_problem(inside) or (  # type: ignore[arg-type]
                image_problem(inside, self.media.max_pixels) if self.media.decode else None)
            if why:
                self.err(field, f"frame {os.path.basename(frame)}: {why}")
                return 0
        return 1

    def _allowed(self) -> list[str]:
        if self._roots is None:
            self._roots = self.media.allowed_roots(self.base_dir)  # type: ignore[arg-type]
        return self._roots

    def _path(self, ref: str, field: str) -> tuple[str | None, str | None]:
        """(the path as written, its real path inside the media roots); (None, None) when files
        are not being checked; (None, "") after reporting a path outside the roots."""
        if self.base_dir is None:
            return None, None
        if ref.startswith("file://"):
            ref = ref[len("file://"):]
        where = os.path.join(self.base_dir, ref)
        real, why = confine(where, self._allowed())
        if why:
            self.err(field, why)
            return None, ""
        return where, real


def _is_url(ref: str) -> bool:
    return ref.startswith(("http://", "https://", "s3://", "gs://"))
