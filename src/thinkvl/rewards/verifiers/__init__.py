"""Verifier families, one module each, registered by name for the config's ``verifier:`` key."""

from __future__ import annotations

from . import chart, choice, counting, grounding, gui, math, ocr, open, science, text  # noqa: F401
from .base import REGISTRY, Ctx, Verifier, get_family, register

__all__ = ["REGISTRY", "Ctx", "Verifier", "get_family", "register"]
