"""Tokens a policy must never sample, for every decoder (HF loop, vLLM, the test server).

A sampled vision placeholder (``<|image|>``, ``<|video|>``, their begin/end markers) breaks the
next forward pass ("Image features and image tokens do not match") and means nothing as text.
The tiny model's generation config already suppresses them (``model.factory``); a real
checkpoint's usually does not, so the placeholders named in the model config (GLM-4.1V's field
names) and those the family adapter knows (``Family.never_sample_ids``: every family's
placeholders, tile tags, padding) are added to whatever ``generation_config.suppress_tokens`` lists.
"""

from __future__ import annotations

PLACEHOLDER_FIELDS = ("image_token_id", "video_token_id", "image_start_token_id", "image_end_token_id",
                      "video_start_token_id", "video_end_token_id")


def placeholder_ids(config) -> set[int]:
    """The vision placeholder ids a model config names (none for a text-only model)."""
    ids = (getattr(config, name, None) for name in PLACEHOLDER_FIELDS)
    return {int(i) for i in ids if isinstance(i, int) and i >= 0}


def never_sample_ids(config, generation_config, extra=()) -> list[int]:
    """``generation_config.suppress_tokens`` plus the vision placeholders plus ``extra`` (a
    family adapter's ``never_sample_ids``: every family's scaffolding tokens), sorted."""
    listed = getattr(generation_config, "suppress_tokens", None) or []
    return sorted(set(int(i) for i in listed) | placeholder_ids(config) | {int(i) for i in extra})
