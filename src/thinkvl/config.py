"""Configs as data: pydantic models per stage, YAML recipes, dotted command-line overrides.

A recipe is a YAML mapping whose top-level keys are sections (``model``, ``data``, ``rl`` …).
``load_config(StageConfig, "configs/demo.yaml", ["rl.clip_high=0.3"])`` reads the file,
applies overrides and validates; a wrong key or value raises :class:`ConfigError` naming the
key, the value given and what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

T = TypeVar("T", bound=BaseModel)


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message says where and why."""


class Section(BaseModel):
    """Base for every config section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


def parse_value(text: str) -> Any:
    """Parse an override's right-hand side the way YAML would (``0.3``, ``true``, ``[1, 2]``)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_override(data: dict, key: str, value: Any, known: type[BaseModel] | None = None) -> None:
    """Set ``data[a][b][c] = value`` for ``key == "a.b.c"``, checking names against the model."""
    parts = key.split(".")
    if not all(parts):
        raise ConfigError(f"override key {key!r} is malformed: expected dotted names like rl.clip_high")
    node = data
    model = known
    for depth, part in enumerate(parts):
        if model is not None and part not in model.model_fields:
            where = ".".join(parts[:depth]) or "top level"
            choices = ", ".join(sorted(model.model_fields))
            raise ConfigError(f"unknown config key {key!r}: {where} has no {part!r}; expected one of: {choices}")
        if depth == len(parts) - 1:
            node[part] = value
            return
        sub = _section_type(model, part) if model is not None else None
        if model is not None and sub is None and not _is_mapping(model, part):
            raise ConfigError(f"override {key!r}: {'.'.join(parts[: depth + 1])} is not a section")
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"override {key!r}: {'.'.join(parts[: depth + 1])} is not a section")
        node = child
        model = sub


def _section_type(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    annotation = model.model_fields[name].annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _is_mapping(model: type[BaseModel], name: str) -> bool:
    annotation = model.model_fields[name].annotation
    return annotation is dict or getattr(annotation, "__origin__", None) is dict


def _format_validation_error(err: ValidationError, data: dict) -> str:
    lines = []
    for item in err.errors():
        key = ".".join(str(p) for p in item["loc"])
        given = item.get("input")
        if item["type"] == "extra_forbidden":
            lines.append(f"unknown config key {key!r} (value {given!r}): remove it or fix its spelling")
        else:
            lines.append(f"config key {key!r}: value {given!r} is invalid: {item['msg']}")
    return "\n".join(lines)


RECIPES = Path(__file__).resolve().parent / "configs"


def embedded_recipes() -> list[str]:
    """Names of the recipes shipped inside the package (usable from any directory)."""
    return sorted(p.stem for p in RECIPES.glob("*.yaml"))


def resolve_recipe(path: str | Path) -> Path:
    """A recipe file: the path itself when it exists, else a recipe shipped with the package
    named by it (``demo_rl``, ``demo_rl.yaml`` or ``configs/demo_rl.yaml``), so an installed
    ``thinkvl`` finds its demo recipes outside a source checkout."""
    path = Path(path)
    if path.is_file():
        return path
    embedded = RECIPES / f"{path.stem}.yaml"
    if path.suffix in ("", ".yaml") and embedded.exists():
        return embedded
    raise ConfigError(f"config file {path} does not exist (recipes shipped with thinkvl: "
                      f"{', '.join(embedded_recipes())})")


def read_yaml(path: str | Path) -> dict:
    path = resolve_recipe(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, got {type(data).__name__}")
    return data


def build_config(model: type[T], data: dict, overrides: list[str] | None = None) -> T:
    """Validate ``data`` (plus ``key=value`` overrides) into ``model``."""
    data = dict(data)
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key=value (e.g. rl.clip_high=0.3)")
        key, _, raw = item.partition("=")
        apply_override(data, key.strip(), parse_value(raw.strip()), model)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, data)) from None


def load_config(model: type[T], path: str | Path | None = None, overrides: list[str] | None = None) -> T:
    """Read a YAML recipe (or start from defaults when ``path`` is None) and apply overrides."""
    data = read_yaml(path) if path is not None else {}
    return build_config(model, data, overrides)


def dump_config(config: BaseModel, path: str | Path) -> None:
    """Write the resolved config beside a run so it can be reproduced."""
    Path(path).write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
