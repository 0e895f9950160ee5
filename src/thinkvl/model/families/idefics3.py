"""Idefics3: ``User:`` / ``Assistant:`` turns ended by ``<end_of_utterance>``, a SigLIP tower whose
patches are pixel-shuffled by a connector, images split into a grid of tiles plus a global view.

- ``pixel_values`` is per *row*: ``(rows, most images in a row, 3, H, W)``, padded with empty
  images (the model drops all-zero ones), with ``pixel_attention_mask`` marking real pixels; image
  features fill the ``<image>`` tokens in order, so a packed row lists its samples' images in turn.
- Each tile is ``image_seq_len`` ``<image>`` tokens wrapped in ``<fake_token_around_image>`` and a
  ``<row_i_col_j>`` / ``<global-img>`` tag: all scaffolding, never sampled.
- The template writes ``Assistant:`` to generate, but ``Assistant: `` before a finished turn's
  words: completions begin with a space (``assistant_lead``).
- Budget (``"tiles"``): the image is resized to ``size["longest_edge"]`` and cut into tiles of
  ``max_image_size["longest_edge"]``: at most (edge ÷ tile)² tiles + the global view.
- No video (SmolVLM, its successor, takes video). Positions 1-D.
"""

from __future__ import annotations

import math
import re

from transformers import Idefics3Config, Idefics3ImageProcessor, Idefics3Processor

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

ROW_COL = tuple(f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7))
IMAGE_SPECIAL = ("<fake_token_around_image>", "<image>", "<end_of_utterance>", "<global-img>", *ROW_COL)
LLAMA3_SPECIAL = ("<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                  "<|reserved_special_token_1|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")
TILE, PATCH, SCALE = 32, 8, 2
TOKENS_PER_TILE = (TILE // PATCH) ** 2 // SCALE ** 2


def llama_text(tokenizer) -> dict:
    return dict(model_type="llama", vocab_size=len(tokenizer), hidden_size=TEXT_HIDDEN,
                intermediate_size=TEXT_INTERMEDIATE, num_hidden_layers=TEXT_LAYERS, num_attention_heads=TEXT_HEADS,
                num_key_value_heads=TEXT_KV_HEADS, head_dim=TEXT_HIDDEN // TEXT_HEADS, max_position_embeddings=4096,
                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                bos_token_id=tokenizer.bos_token_id)


def tiles_vision() -> dict:
    return dict(hidden_size=VISION_HIDDEN, intermediate_size=2 * VISION_HIDDEN, num_hidden_layers=VISION_LAYERS,
                num_attention_heads=VISION_HEADS, image_size=TILE, patch_size=PATCH)


def _config(tokenizer) -> Idefics3Config:
    return Idefics3Config(vision_config=tiles_vision(), text_config=llama_text(tokenizer), scale_factor=SCALE,
                          image_token_id=tokenizer.convert_tokens_to_ids("<image>"), pad_token_id=tokenizer.pad_token_id)


def _processor(tokenizer, template: str) -> Idefics3Processor:
    image = Idefics3ImageProcessor(size={"longest_edge": 2 * TILE}, max_image_size={"longest_edge": TILE},
                                   do_image_splitting=True)
    return Idefics3Processor(image_processor=image, tokenizer=tokenizer, image_seq_len=TOKENS_PER_TILE,
                             chat_template=template)


class Idefics3(Family):
    name = "idefics3"
    model_types = ("idefics3",)
    model_class = "Idefics3ForConditionalGeneration"
    processor_classes = ("Idefics3Processor",)
    vision_modules = ("model.vision_model",)
    projector_modules = ("model.connector",)
    language_module = "model.text_model"
    fields = {"pixel_values": Field(Unit.ROW, pad=0.0), "pixel_attention_mask": Field(Unit.ROW, pad=False)}
    placeholder_config_attrs = ("image_token_id",)
    placeholder_processor_attrs = ("image_token", "fake_image_token", "global_image_tag", "global_image_token")
    tiny = TinySpec("idefics3", TokenizerSpec(special=(*LLAMA3_SPECIAL, *IMAGE_SPECIAL), eos="<|end_of_text|>",
                                              pad="<|reserved_special_token_0|>", bos="<|begin_of_text|>",
                                              add_bos=True), _config, _processor)

    def _token_values(self) -> list:
        vocab = self.tokenizer.get_vocab()
        return super()._token_values() + [t for t in vocab if re.fullmatch(r"<row_\d+_col_\d+>", t)]

    def _seq(self) -> int:
        return self.processor.image_seq_len

    def budget(self) -> VisionBudget:
        ip = self.processor.image_processor
        edge, tile = ip.size["longest_edge"], ip.max_image_size["longest_edge"]
        tiles = math.ceil(edge / tile) ** 2 + 1 if ip.do_image_splitting else 1
        return VisionBudget("tiles", tiles, tiles * self._seq())

    def cap_image_tokens(self, tokens: int) -> None:
        ip = self.processor.image_processor
        tiles = tokens // self._seq()
        if tiles < 1:
            raise ValueError(f"{self.name}: one tile is {self._seq()} tokens; a cap of {tokens} cannot be met")
        per_side = math.isqrt(tiles - 1) if tiles > 1 else 0
        if per_side < 1:
            ip.do_image_splitting = False
            return
        tile = ip.max_image_size["longest_edge"]
        ip.size["longest_edge"] = min(ip.size["longest_edge"], per_side * tile)  # a dict, or a SizeDict
