"""Domain name → generator. The names are the ``domain`` values written into records."""

from __future__ import annotations

from . import arithmetic, chart, choice, counting, grounding, gui, ocr, video
from .sample import Generator

GENERATORS: dict[str, Generator] = {
    "counting": counting.generate,
    "ocr": ocr.generate,
    "grounding": grounding.generate,
    "chart": chart.generate,
    "math": arithmetic.generate,
    "choice": choice.generate,
    "gui": gui.generate,
    "video": video.generate,
}
DOMAINS: tuple[str, ...] = tuple(GENERATORS)
# Per-domain lists of template phrases, for the tokenizer corpus.
VOCABULARIES = {
    "counting": counting.vocabulary, "ocr": ocr.vocabulary, "grounding": grounding.vocabulary,
    "chart": chart.vocabulary, "math": arithmetic.vocabulary, "choice": choice.vocabulary,
    "gui": gui.vocabulary, "video": video.vocabulary,
}


def resolve_domains(domains: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Validate a domain selection (a list or ``"a,b"``); None means all, in canonical order."""
    if domains is None:
        return list(DOMAINS)
    names = domains.split(",") if isinstance(domains, str) else list(domains)
    names = [d.strip() for d in names if d.strip()]
    unknown = [d for d in names if d not in GENERATORS]
    if unknown or not names:
        raise ValueError(f"unknown domain(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                         f"choose from: {', '.join(DOMAINS)}")
    return list(dict.fromkeys(names))
