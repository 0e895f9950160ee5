"""A project's label config: which fields annotators fill and which labels each may take.

Label sets are data (YAML), not code: ``configs/annotate_project.yaml`` is the example. Four
field types exist, each with its own editor, draft prompt and export:

- ``segments``: time segments of a video, each with an action description;
- ``texts``: in-scene text with its time span (videos) and, where given, its box (0–1000);
- ``label``: one label out of the field's ``labels`` (camera motion, shot type, angle, …);
- ``caption``: free text.

A bad file fails with the file, the field path and what was expected.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from thinkvl.annotate.errors import ConfigError

FIELD_TYPES = ("segments", "texts", "label", "caption")
MEDIA_KINDS = ("video", "image")
# Upload types an admin may allow, by short name.
UPLOAD_TYPES = ("png", "jpeg", "webp", "gif", "mp4", "webm", "mov")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class FieldSpec(BaseModel):
    """One field of a task."""

    model_config = ConfigDict(extra="forbid")

    name: str
    type: Literal["segments", "texts", "label", "caption"]
    title: str = ""
    help: str = ""
    labels: list[str] = Field(default_factory=list)
    question: str = ""  # asked of the model (drafts) and in exported question–answer pairs
    media: list[Literal["video", "image"]] = Field(default_factory=lambda: list(MEDIA_KINDS))
    draft: bool = True  # ask the model to draft this field

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME_RE.match(v):
            raise ValueError(f"{v!r} is not a field name (lower-case letters, digits and _, "
                             "starting with a letter, at most 40 characters)")
        return v

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: list[str]) -> list[str]:
        cleaned = [" ".join(str(x).split()) for x in v]
        if any(not x for x in cleaned):
            raise ValueError("labels must be non-empty strings")
        seen: set[str] = set()
        for x in cleaned:
            if x.casefold() in seen:
                raise ValueError(f"label {x!r} is listed twice")
            seen.add(x.casefold())
        return cleaned

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.type == "label" and not self.labels:
            raise ValueError(f"field {self.name!r} has type 'label' but no 'labels' list")
        if self.type != "label" and self.labels:
            raise ValueError(f"field {self.name!r}: only 'label' fields take 'labels' "
                             f"(this one is {self.type!r})")
        if self.type == "segments" and "image" in self.media:
            if "media" in self.model_fields_set:
                raise ValueError(f"field {self.name!r}: time segments need a video; "
                                 "use media: [video]")
            self.media = ["video"]
        if not self.media:
            raise ValueError(f"field {self.name!r}: 'media' must name video, image or both")
        if not self.title:
            self.title = self.name.replace("_", " ").capitalize()
        return self

    def applies_to(self, kind: str) -> bool:
        """Whether this field is filled for media of ``kind`` (``image`` or ``video``)."""
        return ("image" if kind == "image" else "video") in self.media


class MediaSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_upload_mb: float = Field(200.0, gt=0, le=100_000)
    allowed: list[str] = Field(default_factory=lambda: list(UPLOAD_TYPES))
    frame_fps: float = Field(2.0, gt=0, le=240)  # frame folders are taken as sampled at this rate

    @field_validator("allowed")
    @classmethod
    def _allowed(cls, v: list[str]) -> list[str]:
        out = [x.lower().lstrip(".").replace("jpg", "jpeg") for x in v]
        bad = [x for x in out if x not in UPLOAD_TYPES]
        if bad:
            raise ValueError(f"unknown upload type(s) {bad} (known: {', '.join(UPLOAD_TYPES)})")
        return out


class DraftSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    think: bool = False  # False: direct answers (/nothink), the fastest drafts
    think_budget: int = Field(16, ge=1, le=32768)
    answer_budget: int = Field(48, ge=1, le=32768)


class ProjectConfig(BaseModel):
    """A whole project config file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    instructions: str = ""
    fields: list[FieldSpec] = Field(min_length=1)
    media: MediaSettings = Field(default_factory=MediaSettings)
    draft: DraftSettings = Field(default_factory=DraftSettings)

    @model_validator(mode="after")
    def _unique(self) -> ProjectConfig:
        names = [f.name for f in self.fields]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"field name(s) used twice: {', '.join(dup)}")
        return self

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def fields_for(self, kind: str) -> list[FieldSpec]:
        return [f for f in self.fields if f.applies_to(kind)]


def parse_config(text: str, source: str = "<config>") -> ProjectConfig:
    """Read a config from YAML text; ConfigError names the source, the field path and the fix."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with 'name' and 'fields', got "
                          f"{type(data).__name__}")
    return config_from_dict(data, source)


def config_from_dict(data: dict, source: str = "<config>") -> ProjectConfig:
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            path = _path(data, err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check its spelling)"
            lines.append(f"{source}: {path or 'config'}: {msg}")
        raise ConfigError("\n".join(lines)) from None


def load_config(path: str | Path) -> ProjectConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the config file ({exc})") from None
    return parse_config(text, str(p))


def _path(data: object, loc: tuple) -> str:
    """``fields[2].labels`` from a pydantic location, naming fields by their ``name``."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            name = node[part].get("name") if isinstance(node, list) and part < len(node) \
                and isinstance(node[part], dict) else None
            out += f"[{part}]" + (f"({name})" if isinstance(name, str) else "")
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            out += ("." if out else "") + str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out
