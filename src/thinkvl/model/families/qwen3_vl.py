"""Qwen3-VL: ChatML turns, a ViT with DeepStack taps into early LM layers, interleaved M-RoPE.

Video frames are separated by textual timestamps (``<1.5 seconds>``) that the processor writes
from ``video_metadata`` (fps, frame indices), so absolute time lives in the prompt text and
``get_rope_index`` splits ``video_grid_thw`` per frame. ``<think>`` / ``</think>`` are in the
vocabulary (plain added tokens); the other four protocol markers are not. Qwen3-VL ships
separate Instruct and Thinking checkpoints: the Thinking template opens ``<think>`` in the
generation prompt (``templates/qwen3_vl_thinking.jinja``), the Instruct one does not.
"""

from __future__ import annotations

from transformers import (
    Qwen2VLImageProcessor,
    Qwen3VLConfig,
    Qwen3VLProcessor,
    Qwen3VLVideoProcessor,
)

from thinkvl.model.families.base import TinySpec
from thinkvl.model.families.qwen2_vl import (
    MERGE,
    PATCH,
    QWEN2_SPECIAL,
    QWEN25_ADDED,
    TEMPORAL,
    Qwen2VL,
    pixel_sizes,
    qwen_text,
    qwen_token_ids,
)
from thinkvl.model.families.tiny import VISION_HEADS, VISION_HIDDEN, TokenizerSpec

QWEN3_ADDED = (*QWEN25_ADDED, "<tool_response>", "</tool_response>", "<think>", "</think>")


def _config(tokenizer) -> Qwen3VLConfig:
    text = qwen_text(tokenizer, head_dim=16)
    text.update(num_attention_heads=4)  # Qwen3-VL's explicit head_dim, 4 heads (not served through vLLM here)
    text["rope_parameters"] = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 2, 2],
                               "mrope_interleaved": True}
    vision = dict(depth=2, hidden_size=VISION_HIDDEN, intermediate_size=2 * VISION_HIDDEN, num_heads=VISION_HEADS,
                  out_hidden_size=text["hidden_size"], patch_size=PATCH, spatial_merge_size=MERGE,
                  temporal_patch_size=TEMPORAL, num_position_embeddings=64, deepstack_visual_indexes=[0])
    return Qwen3VLConfig(text_config=text, vision_config=vision, **qwen_token_ids(tokenizer))


def _processor(tokenizer, template: str) -> Qwen3VLProcessor:
    image, video = pixel_sizes(PATCH)
    common = dict(patch_size=PATCH, merge_size=MERGE, temporal_patch_size=TEMPORAL)
    return Qwen3VLProcessor(image_processor=Qwen2VLImageProcessor(size=image, **common), tokenizer=tokenizer,
                            video_processor=Qwen3VLVideoProcessor(size=video, min_frames=2, **common),
                            chat_template=template)


class Qwen3VL(Qwen2VL):
    name = "qwen3_vl"
    model_types = ("qwen3_vl",)
    model_class = "Qwen3VLForConditionalGeneration"
    processor_classes = ("Qwen3VLProcessor",)
    vllm_placeholders = None
    vision_modules = ("model.visual",)
    projector_modules = ("model.visual.merger", "model.visual.deepstack_merger_list")
    tiny = TinySpec("qwen3_vl", TokenizerSpec(special=QWEN2_SPECIAL, added=QWEN3_ADDED, eos="<|im_end|>",
                                              pad="<|endoftext|>"), _config, _processor)
