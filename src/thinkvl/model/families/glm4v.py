"""GLM-4.1V (the default family): GLM-4 turns, a Qwen-style dynamic-resolution ViT, M-RoPE.

The tiny model is ``thinkvl.model.factory.build_tiny`` (its own template, all six protocol
markers as special tokens). The published GLM-4.1V-Thinking template writes nothing after an
assistant's words: a turn ends where ``<|user|>`` begins, which ``chat.turn_end`` finds by
rendering two turns. Video frames carry textual timestamps (from ``video_metadata``), so any fps
is positioned right by ``get_rope_index``. ``max_pixels`` counts both frames of the temporal
patch even for an image: a vision token covers (patch × merge)² × temporal_patch pixels.
"""

from __future__ import annotations

from thinkvl.model.families.qwen2_vl import Qwen2VL


class Glm4V(Qwen2VL):
    name = "glm4v"
    model_types = ("glm4v",)
    model_class = "Glm4vForConditionalGeneration"
    processor_classes = ("Glm4vProcessor",)
    vllm_placeholders = "glm"
    mixed_media = False
    vision_modules = ("model.visual",)
    projector_modules = ("model.visual.downsample", "model.visual.merger")
    placeholder_config_attrs = ("image_token_id", "video_token_id", "image_start_token_id", "image_end_token_id",
                                "video_start_token_id", "video_end_token_id")
    prompt_only_tokens = ("[gMASK]", "<sop>", "<|system|>")
    tiny = None  # thinkvl.model.factory.build_tiny

    def _pixels_per_token(self) -> int:
        ip = self.processor.image_processor
        return (ip.patch_size * ip.merge_size) ** 2 * ip.temporal_patch_size
