"""The six protocol markers on a family's tokenizer: single tokens, or sequences until SFT adds them.

thinkvl's response protocol (``thinkvl.format``) needs ``<think> </think> <answer> </answer>
<|begin_of_box|> <|end_of_box|>``. GLM-4.1V has all six as special tokens; Qwen3-VL has the
think pair (as plain added tokens); every other family has none, so each marker costs 3–8 BPE
pieces whose split even depends on the neighbouring text — budgets shrink and a decoder cannot
watch for ``</think>`` as one id.

Policy (every family): at SFT start, the missing markers are **added as special tokens** and the
embeddings resized (``add_markers``); new rows start at the mean of the existing rows so the
first steps do not see outliers. A checkpoint evaluated without that SFT keeps the markers as
token sequences (``marker_ids`` gives them), and any reader must match the *text*, not ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from thinkvl.format import PROTOCOL_MARKERS


@dataclass(frozen=True)
class MarkerInfo:
    marker: str
    ids: tuple[int, ...]  # how the tokenizer encodes it now

    @property
    def single(self) -> bool:
        return len(self.ids) == 1


def marker_ids(tokenizer) -> dict[str, MarkerInfo]:
    """Each protocol marker as the tokenizer encodes it on its own."""
    return {m: MarkerInfo(m, tuple(tokenizer(m, add_special_tokens=False)["input_ids"])) for m in PROTOCOL_MARKERS}


def missing_markers(tokenizer) -> list[str]:
    """Markers that are not one token yet (what ``add_markers`` would add)."""
    return [m for m, info in marker_ids(tokenizer).items() if not info.single]


def add_markers(model, tokenizer) -> list[str]:
    """Add the missing markers as special tokens and grow the model's embeddings to match.

    Returns the markers added. New embedding (and untied output) rows are set to the mean of the
    rows of the tokens the tokenizer had before, including when the new ids land in rows a
    checkpoint had padded its vocabulary with (Qwen's 152064 rows for 151665 tokens) whose
    values were never trained.
    """
    missing = missing_markers(tokenizer)
    if not missing:
        return []
    old = len(tokenizer)
    tokenizer.add_special_tokens({"extra_special_tokens": missing}, replace_extra_special_tokens=False)
    new_ids = tokenizer.convert_tokens_to_ids(missing)
    embed = model.get_input_embeddings()
    rows = max(len(tokenizer), embed.num_embeddings)
    if rows != embed.num_embeddings:
        model.resize_token_embeddings(rows, mean_resizing=False)
    with torch.no_grad():
        for layer in {id(x): x for x in (model.get_input_embeddings(), model.get_output_embeddings()) if x is not None}.values():
            weight = layer.weight
            weight[new_ids] = weight[:old].mean(dim=0, keepdim=True).to(weight.dtype)
    return missing
