"""Projects and their tasks: create a project from a config, add media as tasks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from thinkvl.annotate.config import ProjectConfig, config_from_dict
from thinkvl.annotate.errors import AnnotateError, MediaRejected
from thinkvl.annotate.media import FRAME_SUFFIXES, Probe, frame_files, probe
from thinkvl.annotate.models import FieldValue, Media, Project, Task, User

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")
    return slug or "project"


def create_project(session: Session, config: ProjectConfig, slug: str | None = None) -> Project:
    slug = slug or slugify(config.name)
    if not _SLUG_RE.match(slug):
        raise AnnotateError(f"project id {slug!r} is not allowed: lower-case letters, digits and "
                            "'-', at most 64 characters")
    if session.scalar(select(Project).where(Project.slug == slug)):
        raise AnnotateError(f"a project {slug!r} exists already; choose another --slug")
    project = Project(slug=slug, name=config.name, config=config.model_dump(mode="json"))
    session.add(project)
    session.flush()
    return project


def project_config(project: Project) -> ProjectConfig:
    return _parsed(json.dumps(project.config, sort_keys=True))


@lru_cache(maxsize=64)
def _parsed(text: str) -> ProjectConfig:
    return config_from_dict(json.loads(text), "stored project config")


def add_task(session: Session, project: Project, rel_path: str, info: Probe, name: str,
             user: User | None = None) -> Task:
    """One medium and its task, with an empty row for every field that applies to it."""
    media = Media(project_id=project.id, kind=info.kind, path=rel_path, name=name[:255],
                  mime=info.mime, size_bytes=info.size_bytes, width=info.width,
                  height=info.height, fps=info.fps, frames=info.frames, duration=info.duration,
                  uploaded_by_id=user.id if user else None)
    session.add(media)
    session.flush()
    task = Task(project_id=project.id, media_id=media.id, status="open", version=1,
                draft_status="none")
    kind = "image" if info.kind == "image" else "video"
    task.fields = [FieldValue(field=spec.name, status="pending", has_draft=False)
                   for spec in project_config(project).fields_for(kind)]
    session.add(task)
    session.flush()
    return task


@dataclass
class ImportResult:
    added: list[Task] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "path: why"


def import_media(session: Session, project: Project, media_root: Path,
                 paths: list[Path]) -> ImportResult:
    """Add media already under ``media_root`` as tasks. A folder holding only frame images is one
    video; a folder with anything else (frame folders, videos, images) adds each of those (to add
    loose images one by one, name the files). Media already in the project
    are skipped, and so is anything unreadable (each with its reason)."""
    root = media_root.resolve()
    cfg = project_config(project)
    have = set(session.scalars(select(Media.path).where(Media.project_id == project.id)))
    result = ImportResult()
    for given in paths:
        path = _locate(root, given)
        if path != root and root not in path.parents:
            result.skipped.append(f"{given}: outside the media folder {root}; copy it there first")
            continue
        for item in _items(path):
            rel = item.relative_to(root).as_posix()
            if rel in have:
                result.skipped.append(f"{rel}: already in project {project.slug!r}")
                continue
            try:
                info = probe(item, cfg.media.frame_fps)
            except MediaRejected as exc:
                result.skipped.append(f"{rel}: {exc.message}")
                continue
            result.added.append(add_task(session, project, rel, info, rel))
            have.add(rel)
    return result


def _locate(root: Path, given: Path) -> Path:
    """An absolute path, else relative to the media folder, else to the working folder."""
    if given.is_absolute():
        return given.resolve()
    under_root = (root / given).resolve()
    if under_root.exists() or not given.exists():
        return under_root
    return given.resolve()


def _items(path: Path) -> list[Path]:
    if not path.exists():
        return [path]  # reported by probe
    if path.is_file() or _frame_folder(path):
        return [path]
    out = []
    for child in sorted(path.iterdir()):
        if (child.is_dir() and frame_files(child)) or \
                (child.is_file() and not child.name.startswith(".")):
            out.append(child)
    return out


def _frame_folder(folder: Path) -> bool:
    """A folder holding only frame images (thinkvl's video format). A folder with anything else
    in it (sub-folders, videos) is a folder *of* media, each added on its own."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    return bool(entries) and all(p.is_file() and p.suffix.lower() in FRAME_SUFFIXES
                                 for p in entries)
