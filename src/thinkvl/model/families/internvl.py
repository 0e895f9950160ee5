"""InternVL (the ``-hf`` checkpoints): ChatML turns, an InternViT tower, pixel-shuffled tiles.

- An image is cut into up to ``max_patches`` tiles of the processor's ``size`` plus a thumbnail;
  each tile costs ``image_seq_length`` tokens between ``<img>`` and ``</img>``.
- Videos are frames, each one tile: the processor merges image tiles and video frames into one
  ``pixel_values`` in prompt order (TILE), so a batch's rows follow its samples' prompts.
- Budget (``"tiles"``): ``(max_patches + 1) × image_seq_length`` for a tiled image; positions 1-D.
"""

from __future__ import annotations

from transformers import (
    GotOcr2ImageProcessor,
    InternVLConfig,
    InternVLProcessor,
    InternVLVideoProcessor,
)

from thinkvl.model.families.base import Family, TinySpec, VisionBudget
from thinkvl.model.families.batching import Field, Unit
from thinkvl.model.families.llava_onevision import qwen2_text
from thinkvl.model.families.qwen2_vl import QWEN2_SPECIAL, QWEN25_ADDED
from thinkvl.model.families.tiny import VISION_HEADS, VISION_HIDDEN, VISION_LAYERS, TokenizerSpec

INTERNVL_SPECIAL = (*QWEN2_SPECIAL, "<img>", "</img>", "<IMG_CONTEXT>", "<quad>", "</quad>", "<ref>", "</ref>",
                    "<box>", "</box>", "<video>")
NAMED = {"start_image_token": "<img>", "end_image_token": "</img>", "context_image_token": "<IMG_CONTEXT>",
         "video_token": "<video>"}
TILE, PATCH, MAX_TILES = 32, 8, 4
TOKENS_PER_TILE = (TILE // PATCH) ** 2 // 4  # downsample_ratio 0.5 → pixel shuffle keeps a quarter


def _config(tokenizer) -> InternVLConfig:
    vision = dict(hidden_size=VISION_HIDDEN, intermediate_size=2 * VISION_HIDDEN, num_hidden_layers=VISION_LAYERS,
                  num_attention_heads=VISION_HEADS, image_size=[TILE, TILE], patch_size=[PATCH, PATCH])
    return InternVLConfig(vision_config=vision, text_config=qwen2_text(tokenizer),
                          image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>"),
                          image_seq_length=TOKENS_PER_TILE, downsample_ratio=0.5)


def _processor(tokenizer, template: str) -> InternVLProcessor:
    size = {"height": TILE, "width": TILE}
    image = GotOcr2ImageProcessor(size=size, crop_to_patches=True, min_patches=1, max_patches=MAX_TILES)
    return InternVLProcessor(image_processor=image, tokenizer=tokenizer, video_processor=InternVLVideoProcessor(size=size),
                             image_seq_length=TOKENS_PER_TILE, chat_template=template)


class InternVL(Family):
    name = "internvl"
    model_types = ("internvl",)
    model_class = "InternVLForConditionalGeneration"
    processor_classes = ("InternVLProcessor",)
    takes_video = True
    vision_modules = ("model.vision_tower",)
    projector_modules = ("model.multi_modal_projector",)
    fields = {"pixel_values": Field(Unit.TILE)}
    placeholder_config_attrs = ("image_token_id",)
    placeholder_processor_attrs = ("image_token", "start_image_token", "end_image_token", "video_token")
    tiny = TinySpec("internvl", TokenizerSpec(special=INTERNVL_SPECIAL, added=QWEN25_ADDED, eos="<|im_end|>",
                                              pad="<|endoftext|>", named=NAMED), _config, _processor)

    def budget(self) -> VisionBudget:
        ip, seq = self.processor.image_processor, self.processor.image_seq_length
        tiles = ip.max_patches + 1 if ip.crop_to_patches and ip.max_patches > 1 else 1
        return VisionBudget("tiles", tiles, tiles * seq)

    def cap_image_tokens(self, tokens: int) -> None:
        ip, seq = self.processor.image_processor, self.processor.image_seq_length
        tiles = tokens // seq
        if tiles < 1:
            raise ValueError(f"internvl: one tile is {seq} tokens; a cap of {tokens} cannot be met")
        ip.max_patches = 1 if tiles < 3 else min(ip.max_patches, tiles - 1)
        ip.min_patches = min(ip.min_patches, ip.max_patches)
