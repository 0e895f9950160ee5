"""Qwen2-VL: ChatML turns (``<|im_end|>``), dynamic-resolution ViT, M-RoPE over (t, h, w).

Images and videos are flattened patch rows (``pixel_values`` / ``pixel_values_videos``, PATCH)
with one ``(t, h, w)`` grid per item; ``mm_token_type_ids`` marks which tokens are image (1) or
video (2) so ``get_rope_index`` can place them. Budgets are ``max_pixels`` (the image
processor's ``size["longest_edge"]``): one vision token per ``(patch × merge)²`` pixels.
Qwen2-VL's temporal positions count frames pairs, whatever the fps (no time scaling).
"""

from __future__ import annotations

from transformers import (
    Qwen2VLConfig,
    Qwen2VLImageProcessor,
    Qwen2VLProcessor,
    Qwen2VLVideoProcessor,
)

from thinkvl.model.families.base import Family, TinySpec, VisionBudget
from thinkvl.model.families.batching import Field, Unit
from thinkvl.model.families.tiny import (
    TEXT_HIDDEN,
    TEXT_INTERMEDIATE,
    TEXT_KV_HEADS,
    TEXT_LAYERS,
    VISION_HEADS,
    VISION_HIDDEN,
    VISION_LAYERS,
    TokenizerSpec,
)

QWEN2_SPECIAL = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)
# Qwen2.5's added (non-special) tokens, kept by Qwen2.5-VL and Qwen3-VL.
QWEN25_ADDED = ("<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>")
PATCH, MERGE, TEMPORAL = 8, 2, 2
TINY_IMAGE_TOKENS, TINY_VIDEO_TOKENS = 64, 256
MIN_SIDE = 32


# Qwen2-VL / Qwen2.5-VL's tiny text model has head dimension 32 (64 / 2 heads): vLLM's CPU attention
# kernels take no smaller one, and these two families are served through vLLM (``vllm_placeholders``).
QWEN_HEADS = 2


def qwen_text(tokenizer, **extra) -> dict:
    """The tiny text model: M-RoPE sections over half the head dimension (64 / 2 heads → 16)."""
    return dict(vocab_size=len(tokenizer), hidden_size=TEXT_HIDDEN, intermediate_size=TEXT_INTERMEDIATE,
                num_hidden_layers=TEXT_LAYERS, num_attention_heads=QWEN_HEADS, num_key_value_heads=TEXT_KV_HEADS,
                max_position_embeddings=4096, pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 6, 6]},
                **extra)


def qwen_token_ids(tokenizer) -> dict:
    ids = tokenizer.convert_tokens_to_ids
    return dict(image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
                vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"))


def pixel_sizes(patch: int, temporal: int = 1) -> tuple[dict, dict]:
    """Image and video ``size`` settings for the tiny budgets (pixels per vision token: (patch·merge)²)."""
    per_token = (patch * MERGE) ** 2 * temporal
    image = {"shortest_edge": MIN_SIDE * MIN_SIDE, "longest_edge": TINY_IMAGE_TOKENS * per_token}
    video = {"shortest_edge": MIN_SIDE * MIN_SIDE, "longest_edge": TINY_VIDEO_TOKENS * per_token * TEMPORAL}
    return image, video


def _config(tokenizer) -> Qwen2VLConfig:
    vision = dict(depth=VISION_LAYERS, embed_dim=VISION_HIDDEN, hidden_size=TEXT_HIDDEN, num_heads=VISION_HEADS,
                  mlp_ratio=2, patch_size=PATCH, spatial_merge_size=MERGE, temporal_patch_size=TEMPORAL)
    return Qwen2VLConfig(text_config=qwen_text(tokenizer), vision_config=vision, **qwen_token_ids(tokenizer))


def qwen_processor(tokenizer, template: str, processor_class=Qwen2VLProcessor):
    """The tiny model's processor: Qwen2-VL's image and video processors (Qwen2.5-VL reuses them
    under its own processor class)."""
    image, video = pixel_sizes(PATCH)
    common = dict(patch_size=PATCH, merge_size=MERGE, temporal_patch_size=TEMPORAL)
    return processor_class(image_processor=Qwen2VLImageProcessor(size=image, **common), tokenizer=tokenizer,
                           video_processor=Qwen2VLVideoProcessor(size=video, **common), chat_template=template)


class Qwen2VL(Family):
    name = "qwen2_vl"
    model_types = ("qwen2_vl",)
    model_class = "Qwen2VLForConditionalGeneration"
    processor_classes = ("Qwen2VLProcessor",)
    vllm_placeholders = "runs"
    takes_video = True
    rope = "mrope"
    vision_modules = ("model.visual",)
    projector_modules = ("model.visual.merger",)
    fields = {
        "mm_token_type_ids": Field(Unit.TOKEN),
        "pixel_values": Field(Unit.PATCH),
        "image_grid_thw": Field(Unit.IMAGE),
        "pixel_values_videos": Field(Unit.PATCH),
        "video_grid_thw": Field(Unit.VIDEO),
    }
    placeholder_config_attrs = ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")
    placeholder_processor_attrs = ("image_token", "video_token")
    tiny = TinySpec("qwen2_vl", TokenizerSpec(special=QWEN2_SPECIAL, eos="<|im_end|>", pad="<|endoftext|>"),
                    _config, qwen_processor)
    # Pixels a vision token covers per frame: images count one frame (Qwen), GLM counts two.
    image_frames = 1

    def _pixels_per_token(self) -> int:
        ip = self.processor.image_processor
        return (ip.patch_size * ip.merge_size) ** 2 * self.image_frames

    def budget(self) -> VisionBudget:
        max_pixels = self.processor.image_processor.size["longest_edge"]
        return VisionBudget("pixels", max_pixels, max_pixels // self._pixels_per_token())

    def cap_image_tokens(self, tokens: int) -> None:
        ip = self.processor.image_processor
        floor = ip.size["shortest_edge"] // self._pixels_per_token()
        if tokens < max(1, floor):
            raise ValueError(f"{self.name}: {tokens} vision tokens is below the processor's minimum "
                             f"({floor}, from size['shortest_edge']={ip.size['shortest_edge']} pixels)")
        ip.size["longest_edge"] = tokens * self._pixels_per_token()  # a dict, or a SizeDict once loaded
