"""SmolVLM (SmolVLM2 included): Idefics3's architecture, tiles and turns, on SmolLM2, with video.

A video becomes timestamped frames in the prompt ("Frame from 00:02:"), each frame one global
tile of ``image_seq_len`` tokens, and its pixels join ``pixel_values`` like images (per sample,
padded). The processor needs ``num2words`` (for "four frames"). Positions 1-D.
"""

from __future__ import annotations

from transformers import (
    SmolVLMConfig,
    SmolVLMImageProcessor,
    SmolVLMProcessor,
    SmolVLMVideoProcessor,
)

from thinkvl.model.families.base import TinySpec
from thinkvl.model.families.idefics3 import (
    IMAGE_SPECIAL,
    SCALE,
    TILE,
    TOKENS_PER_TILE,
    Idefics3,
    llama_text,
    tiles_vision,
)
from thinkvl.model.families.tiny import TokenizerSpec

SMOLLM2_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>", "<file_sep>",
                   "<filename>", "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>",
                   "<jupyter_start>", "<jupyter_text>", "<jupyter_code>", "<jupyter_output>", "<jupyter_script>",
                   "<empty_output>")


def _config(tokenizer) -> SmolVLMConfig:
    return SmolVLMConfig(vision_config=tiles_vision(), text_config=llama_text(tokenizer), scale_factor=SCALE,
                         image_token_id=tokenizer.convert_tokens_to_ids("<image>"), pad_token_id=tokenizer.pad_token_id)


def _processor(tokenizer, template: str) -> SmolVLMProcessor:
    sizes = dict(size={"longest_edge": 2 * TILE}, max_image_size={"longest_edge": TILE})
    image = SmolVLMImageProcessor(do_image_splitting=True, **sizes)
    video = SmolVLMVideoProcessor(**sizes, fps=1, num_frames=8)
    return SmolVLMProcessor(image_processor=image, tokenizer=tokenizer, video_processor=video,
                            image_seq_len=TOKENS_PER_TILE, chat_template=template)


class SmolVLM(Idefics3):
    name = "smolvlm"
    model_types = ("smolvlm",)
    model_class = "SmolVLMForConditionalGeneration"
    processor_classes = ("SmolVLMProcessor",)
    takes_video = True
    mixed_media = False  # image and video pixels share the ``pixel_values`` key: the video's overwrite them
    placeholder_processor_attrs = ("image_token", "fake_image_token", "global_image_token")
    tiny = TinySpec("smolvlm", TokenizerSpec(special=(*SMOLLM2_SPECIAL, *IMAGE_SPECIAL), eos="<end_of_utterance>",
                                             pad="<|im_end|>", bos="<|im_start|>", unk="<|endoftext|>"),
                    _config, _processor)

    def video_kwargs(self, videos: list[list], fps: float, timestamps: list | None = None) -> dict:
        """SmolVLM's processor counts videos per sample: one sample's videos go in one inner list."""
        kwargs = super().video_kwargs(videos, fps, timestamps)
        return {**kwargs, "videos": [kwargs["videos"]], "video_metadata": [kwargs["video_metadata"]]}
