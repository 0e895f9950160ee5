"""Position ids, found one way: plain 1-D positions, or multimodal RoPE (GLM-4.1V, Qwen-VL) from
the model's own ``get_rope_index`` fed every input it takes (grids, ``mm_token_type_ids``,
Qwen2.5-VL's ``second_per_grid_ts`` …) — packing, the decoding loop and the RL actor all ask
here, through the family adapter where one is given (``Family.positions``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch

from thinkvl.model.inputs import Encoded

GRID_KEYS = ("image_grid_thw", "video_grid_thw")


def rope_index(model) -> Callable | None:
    """The model's multimodal-RoPE position function, or None for 1-D positions."""
    return getattr(getattr(model, "model", None), "get_rope_index", None)


def uses_mrope(model, adapter=None) -> bool:
    if adapter is not None:
        return adapter.rope == "mrope"
    return rope_index(model) is not None


def batch_positions(model, batch: dict, adapter=None) -> torch.Tensor:
    """Position ids of a (padded) batch: (3, B, L) multimodal RoPE, or (B, L) counted over the
    attention mask."""
    if adapter is not None:
        return adapter.positions(model, batch)
    rope = rope_index(model)
    if rope is None:
        mask = batch.get("attention_mask")
        if mask is None:
            ids = batch["input_ids"]
            return torch.arange(ids.shape[-1]).expand_as(ids)
        return (mask.long().cumsum(-1) - 1).clamp(min=0)
    params = inspect.signature(rope).parameters
    kwargs = {k: v for k, v in batch.items() if k in params and k != "input_ids"}
    return rope(batch["input_ids"], **kwargs)[0]


def sample_positions(model, sample: Encoded, length: int | None = None, adapter=None) -> torch.Tensor:
    """(3, n) multimodal-RoPE positions of the first ``length`` tokens of ``sample`` (all by
    default), or (n,) 1-D ones; the vision fields tell ``get_rope_index`` where each image's or
    video's tokens sit (they belong to the prompt, so a prefix keeps them all)."""
    pos = batch_positions(model, sample.part(length), adapter)
    return pos[:, 0] if pos.dim() == 3 else pos[0]
