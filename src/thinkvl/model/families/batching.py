"""How each processor output batches, so samples encoded one by one can be put back together.

A fixed list of vision keys (``pixel_values``, ``image_grid_thw`` …) silently drops what other
families need (``image_sizes``, ``batch_num_images``, ``pixel_attention_mask``,
``second_per_grid_ts``, ``token_type_ids``) and concatenates what must be padded. Each family
declares every key its processor returns with the unit its first dimension counts:

- ``TOKEN``: one row per sample, one column per token (``input_ids``, ``attention_mask``,
  ``mm_token_type_ids``, Gemma's ``token_type_ids``): padded along the sequence;
- ``ROW``: one entry per row of ``input_ids`` (Idefics3's images of that row, padded to the
  most images of any row): a packed row's samples join along the second dimension;
- ``SAMPLE``: one entry per sample, whatever the rows (LLaVA-OneVision's ``batch_num_images``);
- ``IMAGE`` / ``VIDEO``: one entry per image / video (grids, ``image_sizes``,
  ``second_per_grid_ts``; LLaVA-OneVision's crops, padded to the most crops; its videos cannot
  be padded: the model would encode the padding frames, so unequal frame counts are an error);
- ``PATCH``: rows of flattened patches, image after image (Qwen / GLM ``pixel_values``);
- ``TILE``: rows of tiles or frames, image after image (InternVL, Gemma pan-and-scan).

Every non-token unit concatenates along the first dimension in sample order; ``pad`` (not None)
first pads the second dimension to the batch's largest with that value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import torch


class Unit(str, Enum):
    TOKEN = "token"
    ROW = "row"
    SAMPLE = "sample"
    IMAGE = "image"
    VIDEO = "video"
    PATCH = "patch"
    TILE = "tile"


@dataclass(frozen=True)
class Field:
    unit: Unit
    pad: float | int | bool | None = None  # pad dim 1 to the batch's largest with this value


def _as_tensor(value) -> torch.Tensor:
    return value if isinstance(value, torch.Tensor) else torch.as_tensor(value)


def _pad_dim1(t: torch.Tensor, width: int, value) -> torch.Tensor:
    if t.shape[1] == width:
        return t
    shape = list(t.shape)
    shape[1] = width - t.shape[1]
    return torch.cat([t, t.new_full(shape, value)], dim=1)


def collate_fields(parts: list[dict], fields: dict[str, Field], pad_token_id: int,
                   padding_side: str = "right") -> dict:
    """Merge per-sample processor outputs (each for one sample, tensors) into one batch.

    Token fields are padded along the sequence (``input_ids`` with ``pad_token_id``, the rest
    with 0); other fields follow their ``Field``. A key no field declares is an error: it would
    otherwise be dropped and the model would run without it.
    """
    keys = {k for p in parts for k in p}
    unknown = keys - set(fields)
    if unknown:
        raise KeyError(f"processor output {sorted(unknown)} has no batching rule in this family's fields; "
                       "declare it (thinkvl.model.families) instead of dropping it")
    out: dict[str, torch.Tensor] = {}
    for key in sorted(keys):
        field = fields[key]
        values = [_as_tensor(p[key]) for p in parts if key in p]
        if field.unit in (Unit.TOKEN, Unit.ROW) and len(values) < len(parts):
            values = _fill_rows(parts, key, values[0], field)
        if field.unit is Unit.TOKEN:
            width = max(v.shape[-1] for v in values)
            fill = pad_token_id if key == "input_ids" else 0
            rows = []
            for v in values:
                pad = v.new_full((*v.shape[:-1], width - v.shape[-1]), fill)
                rows.append(torch.cat([v, pad] if padding_side == "right" else [pad, v], dim=-1))
            out[key] = torch.cat(rows, dim=0)
            continue
        if field.pad is not None and values[0].dim() > 1:
            width = max(v.shape[1] for v in values)
            values = [_pad_dim1(v, width, field.pad) for v in values]
        shapes = {tuple(v.shape[1:]) for v in values if v.dim() > 1}
        if len(shapes) > 1:
            raise ValueError(f"{key}: samples of shapes {sorted(shapes)} cannot share a batch (this family's model "
                             "has no mask for padding them); batch samples with equal shapes together")
        out[key] = torch.cat([v.reshape(-1) if v.dim() == 0 else v for v in values], dim=0)
    return out


def _fill_rows(parts: list[dict], key: str, like: torch.Tensor, field: Field) -> list[torch.Tensor]:
    """Per-row values of ``key`` where some rows lack it: a token field is 0 over such a row's
    tokens; a ``ROW`` field gets one empty entry (all ``pad``: Idefics3 drops all-zero images)."""
    out = []
    for p in parts:
        if key in p:
            out.append(_as_tensor(p[key]))
        elif field.unit is Unit.TOKEN:
            out.append(like.new_zeros((1, _as_tensor(p["input_ids"]).shape[-1])))
        else:
            out.append(like.new_full((1, 1, *like.shape[2:]), field.pad if field.pad is not None else 0))
    return out


def pack_fields(rows: list[list[dict]], fields: dict[str, Field], pad_token_id: int) -> dict:
    """Several samples per row (sequence packing). Within a row, token fields are concatenated
    along the sequence and ``ROW`` fields along their second dimension; rows are then collated
    like samples (right-padded). Every other field keeps sample order across the whole batch.

    No ``attention_mask`` is returned: with per-sample position ids and no mask, transformers
    builds the block-diagonal (packed-sequence) mask itself.
    """
    merged, rest = [], []
    for row in rows:
        out: dict = {}
        for key in {k for part in row for k in part}:
            field = fields[key]
            values = [_as_tensor(part[key]) for part in row if key in part]
            if field.unit is Unit.TOKEN:
                out[key] = torch.cat(values, dim=-1)
            elif field.unit is Unit.ROW:
                out[key] = torch.cat(values, dim=1)
        merged.append(out)
        rest += [{k: v for k, v in part.items() if fields[k].unit not in (Unit.TOKEN, Unit.ROW)} for part in row]
    batch = collate_fields(merged, fields, pad_token_id)
    batch.update(collate_fields([r for r in rest if r], fields, pad_token_id) if any(rest) else {})
    batch.pop("attention_mask", None)
    return batch
