"""Qwen2.5-VL: Qwen2-VL's turns and patch layout, a windowed ViT, and *absolute-time* M-RoPE.

Video temporal positions advance by ``tokens_per_second × second_per_grid_ts`` per frame pair,
so the processor's ``second_per_grid_ts`` (temporal patch ÷ fps, one per video) must reach
``get_rope_index``: without it every video is positioned as if sampled at 2 fps.
transformers 5.16–5.17 truncate a fractional ``second_per_grid_ts`` to an int (fixed in 5.18):
there, above 2 fps (under 1 s per frame pair) every frame pair of a video gets the same time.
"""

from __future__ import annotations

from transformers import Qwen2_5_VLConfig, Qwen2_5_VLProcessor

from thinkvl.model.families.base import TinySpec
from thinkvl.model.families.batching import Field, Unit
from thinkvl.model.families.qwen2_vl import (
    MERGE,
    PATCH,
    QWEN2_SPECIAL,
    QWEN25_ADDED,
    TEMPORAL,
    Qwen2VL,
    qwen_processor,
    qwen_text,
    qwen_token_ids,
)
from thinkvl.model.families.tiny import VISION_HEADS, VISION_HIDDEN, VISION_LAYERS, TokenizerSpec


def _config(tokenizer) -> Qwen2_5_VLConfig:
    vision = dict(depth=VISION_LAYERS + 1, hidden_size=VISION_HIDDEN, intermediate_size=2 * VISION_HIDDEN,
                  num_heads=VISION_HEADS, out_hidden_size=qwen_text(tokenizer)["hidden_size"], patch_size=PATCH,
                  spatial_merge_size=MERGE, temporal_patch_size=TEMPORAL, tokens_per_second=2,
                  window_size=PATCH * MERGE * 2, fullatt_block_indexes=[VISION_LAYERS])
    return Qwen2_5_VLConfig(text_config=qwen_text(tokenizer), vision_config=vision, **qwen_token_ids(tokenizer))


def _processor(tokenizer, template: str) -> Qwen2_5_VLProcessor:
    return qwen_processor(tokenizer, template, Qwen2_5_VLProcessor)


class Qwen25VL(Qwen2VL):
    name = "qwen2_5_vl"
    model_types = ("qwen2_5_vl",)
    model_class = "Qwen2_5_VLForConditionalGeneration"
    processor_classes = ("Qwen2_5_VLProcessor",)
    fields = {**Qwen2VL.fields, "second_per_grid_ts": Field(Unit.VIDEO)}
    tiny = TinySpec("qwen2_5_vl", TokenizerSpec(special=QWEN2_SPECIAL, added=QWEN25_ADDED, eos="<|im_end|>",
                                                pad="<|endoftext|>"), _config, _processor)
