"""Position ids, found one way: plain 1-D positions, or multimodal RoPE (GLM-4.1V, Qwen-VL) from
the model's own ``get_rope_index`` — packing, the decoding loop and the RL actor all ask here."""

from __future__ import annotations

from collections.abc import Callable

import torch

from thinkvl.model.inputs import Encoded

GRID_KEYS = ("image_grid_thw", "video_grid_thw")


def rope_index(model) -> Callable | None:
    """The model's multimodal-RoPE position function, or None for 1-D positions."""
    return getattr(getattr(model, "model", None), "get_rope_index", None)


def sample_positions(rope: Callable, sample: Encoded, length: int | None = None) -> torch.Tensor:
    """(3, n) multimodal-RoPE positions of the first ``length`` tokens of ``sample`` (all by
    default); the vision grids tell ``rope`` where each image's or video's tokens sit."""
    n = len(sample.input_ids) if length is None else length
    ids = torch.tensor([sample.input_ids[:n]], dtype=torch.long)
    mm = torch.tensor([sample.mm_token_type_ids[:n]], dtype=torch.long)
    grids = {k: sample.vision[k] for k in GRID_KEYS if k in sample.vision}
    pos, _ = rope(ids, mm_token_type_ids=mm, **grids)
    return pos[:, 0]
