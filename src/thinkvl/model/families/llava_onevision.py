"""LLaVA-OneVision: Qwen2 ChatML turns, a SigLIP tower, "anyres" crops for single images.

- One image alone is a base view plus a grid of crops picked from ``image_grid_pinpoints``
  (``pixel_values``: one row per image, padded to the batch's most crops; ``image_sizes`` tells
  the model how to unpad). Several images in one sample are base views only: the placeholder
  count depends on ``batch_num_images`` (one entry per sample), which must travel with the batch.
- Video: ``pixel_values_videos`` is one row per video of frames, pooled 2×2 per frame; frames
  carry no timestamps; the model has no frame mask, so videos batched together need equal frame
  counts; 1-D positions.
- Budget (``"anyres"``): the most tokens one image can take is that of the largest pinpoint,
  capped by ``vision_aspect_ratio`` (``anyres_max_N``). Pinpoints live in both the processor and
  the model config, so a cap restricts both lists together.
"""

from __future__ import annotations

from transformers import (
    LlavaOnevisionConfig,
    LlavaOnevisionImageProcessor,
    LlavaOnevisionProcessor,
    LlavaOnevisionVideoProcessor,
)

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

QWEN2_TEXT_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
IMAGE_SIZE, PATCH = 32, 8
PINPOINTS = [[32, 32], [32, 64], [64, 32], [64, 64]]


def qwen2_text(tokenizer) -> dict:
    return dict(model_type="qwen2", vocab_size=len(tokenizer), hidden_size=TEXT_HIDDEN,
                intermediate_size=TEXT_INTERMEDIATE, num_hidden_layers=TEXT_LAYERS, num_attention_heads=TEXT_HEADS,
                num_key_value_heads=TEXT_KV_HEADS, max_position_embeddings=4096,
                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)


def siglip(image_size: int, patch: int) -> dict:
    return dict(model_type="siglip_vision_model", hidden_size=VISION_HIDDEN, intermediate_size=2 * VISION_HIDDEN,
                num_hidden_layers=VISION_LAYERS, num_attention_heads=VISION_HEADS, image_size=image_size,
                patch_size=patch, vision_use_head=False)


def _config(tokenizer) -> LlavaOnevisionConfig:
    ids = tokenizer.convert_tokens_to_ids
    return LlavaOnevisionConfig(text_config=qwen2_text(tokenizer), vision_config=siglip(IMAGE_SIZE, PATCH),
                                image_token_index=ids("<image>"), video_token_index=ids("<video>"),
                                image_grid_pinpoints=PINPOINTS, vision_feature_select_strategy="full",
                                vision_feature_layer=-1, vision_aspect_ratio="anyres_max_9")


def _processor(tokenizer, template: str) -> LlavaOnevisionProcessor:
    size = {"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    return LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(size=size, image_grid_pinpoints=PINPOINTS),
        tokenizer=tokenizer, video_processor=LlavaOnevisionVideoProcessor(size=size),
        num_image_tokens=(IMAGE_SIZE // PATCH) ** 2, vision_feature_select_strategy="full",
        vision_aspect_ratio="anyres_max_9", chat_template=template)


class LlavaOneVision(Family):
    name = "llava_onevision"
    model_types = ("llava_onevision",)
    model_class = "LlavaOnevisionForConditionalGeneration"
    processor_classes = ("LlavaOnevisionProcessor",)
    takes_video = True
    vision_modules = ("model.vision_tower",)
    projector_modules = ("model.multi_modal_projector", "model.image_newline")
    fields = {
        "pixel_values": Field(Unit.IMAGE, pad=0.0),
        "image_sizes": Field(Unit.IMAGE),
        "batch_num_images": Field(Unit.SAMPLE),
        "pixel_values_videos": Field(Unit.VIDEO),  # no frame mask: one batch, one frame count
    }
    placeholder_config_attrs = ("image_token_index", "video_token_index")
    placeholder_processor_attrs = ("image_token", "video_token")
    tiny = TinySpec("llava_onevision", TokenizerSpec(special=(*QWEN2_TEXT_SPECIAL, "<image>", "<video>"),
                                                     eos="<|im_end|>", pad="<|endoftext|>",
                                                     named={"image_token": "<image>", "video_token": "<video>"}),
                    _config, _processor)

    def _tokens_at(self, height: int, width: int) -> int:
        p = self.processor
        size = p.image_processor.size
        n = p._get_number_of_features(height, width, size["height"], size["width"])
        return n - 1 if p.vision_feature_select_strategy == "default" else n

    def budget(self) -> VisionBudget:
        pinpoints = self.processor.image_processor.image_grid_pinpoints
        most = max(self._tokens_at(h, w) for h, w in pinpoints)
        return VisionBudget("anyres", {"pinpoints": pinpoints, "aspect": self.processor.vision_aspect_ratio}, most)

    def cap_image_tokens(self, tokens: int) -> None:
        keep = [[h, w] for h, w in self.processor.image_processor.image_grid_pinpoints if self._tokens_at(h, w) <= tokens]
        if not keep:
            raise ValueError(f"llava_onevision: even the smallest crop grid takes more than {tokens} tokens")
        self.processor.image_processor.image_grid_pinpoints = keep
        if self.config is not None:  # the model unpads by the same list
            self.config.image_grid_pinpoints = keep

    def batch_key(self, sample) -> tuple:
        """A video shares a forward pass only with videos of as many frames (no frame mask)."""
        videos = sample.vision.get("pixel_values_videos")
        return () if videos is None else ("frames", int(videos.shape[1]))
