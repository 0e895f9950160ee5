"""A tiny model, and a bf16 copy of it (what a public checkpoint looks like)."""

from __future__ import annotations

import pytest

CORPUS = ["How many red squares are there?", "I count the red squares: 1, 2, 3.",
          "The text reads K 7 Q.", "Which direction does the square move?"] * 5


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    from thinkvl.model.factory import build_tiny

    return build_tiny(tmp_path_factory.mktemp("tiny"), corpus=CORPUS, seed=0)


@pytest.fixture(scope="session")
def tiny_bf16(tiny, tmp_path_factory):
    """The tiny model saved in bf16 with its processor, as GLM-4.1V-9B and every public VLM are."""
    import torch

    from thinkvl.model.factory import load_model, load_processor
    from thinkvl.runtime.checkpoint import _save_hf

    out = tmp_path_factory.mktemp("tiny_bf16")
    model = load_model(tiny)
    _save_hf(model, load_processor(tiny), model.state_dict(), out, torch.bfloat16)
    return out
