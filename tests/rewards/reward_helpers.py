"""Helpers shared by the reward tests (imported by name: tests/ has no packages)."""

from __future__ import annotations

from thinkvl.format import make_response


def resp(
    box: str, think: str = "I looked at the image carefully.", lead: str = "", tail: str = ""
) -> str:
    """A well-formed response whose box holds ``box``."""
    return make_response(box, think=think, lead=lead, tail=tail)
