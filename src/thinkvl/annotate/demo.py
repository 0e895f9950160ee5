"""A ready-made project for trying the workflow out (and for the screenshot command): synthetic
videos (frame folders from thinkvl's synthetic world) and an image with text, three accounts
(site admin, annotator, reviewer) and the example label set."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from thinkvl.annotate import access
from thinkvl.annotate.auth import create_user
from thinkvl.annotate.config import ProjectConfig, load_config
from thinkvl.annotate.db import make_engine, session_factory, session_scope
from thinkvl.annotate.migrate import upgrade
from thinkvl.annotate.models import Project, User
from thinkvl.annotate.projects import create_project, import_media

DEFAULT_CONFIG = Path(__file__).with_name("default_project.yaml")
# For local demos only; a real deployment creates its accounts with `thinkvl annotate user add`.
DEMO_USERS = {"admin": ("admin", "admin-demo-pw"), "alice": ("annotator", "alice-demo-pw"),
              "bob": ("reviewer", "bob-demo-pw")}


@dataclass
class Demo:
    db: str
    media: Path
    project: str
    users: dict[str, str] = field(default_factory=dict)  # name → password
    tasks: list[int] = field(default_factory=list)
    captions: dict[str, str] = field(default_factory=dict)  # media path → true caption


def synthetic_media(out_dir: Path, videos: int = 2, images: int = 1, seed: int = 0,
                    size: int = 128) -> dict[str, str]:
    """Write ``videos`` frame folders (moving or flashing shapes) and ``images`` images with
    text under ``out_dir``; returns {relative path: what is really shown}."""
    from thinkvl.data.synthetic import GENERATORS

    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth = {}
    for i in range(videos):
        sample = GENERATORS["video"](rng, 1 + i % 4, size)
        folder = out_dir / f"clip-{i:02d}"
        folder.mkdir(exist_ok=True)
        for j, frame in enumerate(sample.frames):
            frame.save(folder / f"frame_{j:03d}.png", format="PNG")
        truth[folder.name] = sample.caption
    for i in range(images):
        sample = GENERATORS["ocr"](rng, 1, size)
        name = f"sign-{i:02d}.png"
        sample.frames[0].save(out_dir / name, format="PNG")
        truth[name] = str(sample.answer)
    return truth


def seed(db: str, media_root: Path, *, config: ProjectConfig | None = None, slug: str = "demo",
         videos: int = 2, images: int = 1, seed_value: int = 0) -> Demo:
    """Create (or extend) a demo project in ``db`` with media under ``media_root``."""
    config = config or load_config(DEFAULT_CONFIG)
    media_root = Path(media_root)
    folder = media_root / slug
    truth = synthetic_media(folder, videos, images, seed_value)
    engine = make_engine(db)
    try:
        upgrade(engine)
        factory = session_factory(engine)
        demo = Demo(db=db, media=media_root, project=slug,
                    users={u: pw for u, (_, pw) in DEMO_USERS.items()})
        with session_scope(factory) as session:
            project = session.scalar(select(Project).where(Project.slug == slug)) \
                or create_project(session, config, slug)
            for name, (role, password) in DEMO_USERS.items():
                user = session.scalar(select(User).where(User.username == name)) \
                    or create_user(session, name, password, is_admin=(role == "admin"))
                access.add_member(session, project, user, role)
            result = import_media(session, project, media_root, [folder])
            demo.tasks = [t.id for t in result.added]
        demo.captions = {f"{slug}/{k}": v for k, v in truth.items()}
        return demo
    finally:
        engine.dispose()
