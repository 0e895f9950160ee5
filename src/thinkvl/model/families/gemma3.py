"""Gemma 3: ``<start_of_turn>`` / ``<end_of_turn>`` turns, a SigLIP tower pooled to a fixed
number of soft tokens per image, and a text model alternating sliding-window and global layers.

- ``token_type_ids`` (the processor renames ``mm_token_type_ids``) gives image tokens
  bidirectional attention among themselves: it must reach every forward, batched per token.
- ``pixel_values`` is one ``(3, H, W)`` crop per image (TILE: pan-and-scan adds crops after
  each image's own; their count is not returned, only the placeholders say it).
- Sliding-window layers: thinkvl's single-buffer decoding loop does not apply; decode with
  ``generate`` (whose cache keeps the window).
- Budget: every image costs ``image_seq_length`` tokens whatever its size (``"fixed"``);
  pan-and-scan (off unless a call passes ``do_pan_and_scan=True``) adds that much per crop.
- Positions are 1-D; no video; the template adds ``<bos>`` and so does the tokenizer, so a
  rendered prompt must be tokenized with ``add_special_tokens=False``.
"""

from __future__ import annotations

import torch
from transformers import Gemma3Config, Gemma3ImageProcessor, Gemma3Processor

from thinkvl.model.families.base import Family, TinySpec, VisionBudget
from thinkvl.model.families.batching import Field, Unit
from thinkvl.model.families.tiny import (
    TEXT_HEADS,
    TEXT_HIDDEN,
    TEXT_INTERMEDIATE,
    TEXT_KV_HEADS,
    TEXT_LAYERS,
    VISION_HEADS,
    VISION_HIDDEN,
    VISION_LAYERS,
    TokenizerSpec,
)

GEMMA3_SPECIAL = ("<mask>", "[@BOS@]", "<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>",
                  "<image_soft_token>")
NAMED = {"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>", "image_token": "<image_soft_token>"}
IMAGE_SIZE, PATCH, TOKENS_PER_IMAGE = 64, 8, 16
SLIDING_WINDOW = 32


def _config(tokenizer) -> Gemma3Config:
    ids = tokenizer.convert_tokens_to_ids
    text = dict(vocab_size=len(tokenizer), hidden_size=TEXT_HIDDEN, intermediate_size=TEXT_INTERMEDIATE,
                num_hidden_layers=TEXT_LAYERS, num_attention_heads=TEXT_HEADS, num_key_value_heads=TEXT_KV_HEADS,
                head_dim=TEXT_HIDDEN // TEXT_HEADS, query_pre_attn_scalar=TEXT_HIDDEN // TEXT_HEADS,
                sliding_window=SLIDING_WINDOW, layer_types=["sliding_attention", "full_attention"],
                max_position_embeddings=4096, pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    vision = dict(hidden_size=VISION_HIDDEN, intermediate_size=2 * VISION_HIDDEN, num_hidden_layers=VISION_LAYERS,
                  num_attention_heads=VISION_HEADS, image_size=IMAGE_SIZE, patch_size=PATCH)
    return Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=TOKENS_PER_IMAGE,
                        boi_token_index=ids("<start_of_image>"), eoi_token_index=ids("<end_of_image>"),
                        image_token_index=ids("<image_soft_token>"))


def _processor(tokenizer, template: str) -> Gemma3Processor:
    image = Gemma3ImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, image_mean=[0.5] * 3,
                                 image_std=[0.5] * 3, do_pan_and_scan=False)
    return Gemma3Processor(image_processor=image, tokenizer=tokenizer, chat_template=template,
                           image_seq_length=TOKENS_PER_IMAGE)


def _init(model) -> None:
    """Transformers starts Gemma 3's projection at zero (a pre-trained tower is expected): the
    random tiny model would see blank images and its tower would get no gradient at first."""
    torch.nn.init.normal_(model.model.multi_modal_projector.mm_input_projection_weight, std=VISION_HIDDEN ** -0.5)


class Gemma3(Family):
    name = "gemma3"
    model_types = ("gemma3",)
    model_class = "Gemma3ForConditionalGeneration"
    processor_classes = ("Gemma3Processor",)
    vision_modules = ("model.vision_tower",)
    projector_modules = ("model.multi_modal_projector",)
    fields = {"token_type_ids": Field(Unit.TOKEN), "pixel_values": Field(Unit.TILE)}
    placeholder_config_attrs = ("image_token_index", "boi_token_index", "eoi_token_index")
    placeholder_processor_attrs = ("boi_token", "image_token")
    tiny = TinySpec("gemma3", TokenizerSpec(special=GEMMA3_SPECIAL, eos="<eos>", pad="<pad>", bos="<bos>",
                                            unk="<unk>", named=NAMED, add_bos=True), _config, _processor, _init)

    def budget(self) -> VisionBudget:
        """Pan-and-scan is off unless a call asks for it (``do_pan_and_scan=True``: the processor's
        default overrides the image processor's own setting), so an image is ``image_seq_length``."""
        seq = self.processor.image_seq_length
        return VisionBudget("fixed", seq, seq)

    def cap_image_tokens(self, tokens: int) -> None:
        seq = self.processor.image_seq_length
        if tokens < seq:
            raise ValueError(f"gemma3: every image is {seq} tokens (mm_tokens_per_image); a cap of {tokens} "
                             "cannot be met by any processor setting")
