"""Build the tiny GLM-4.1V-architecture model, and load any Hugging Face VLM folder.

The tiny model is a real ``Glm4vForConditionalGeneration`` (same code path as GLM-4.1V-9B),
just small enough to train on two CPU cores. It is saved as an ordinary Hugging Face folder
(safetensors, config, tokenizer, processor with chat template), so everything downstream loads
it exactly as it would load a real checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from transformers import (
    AutoModelForImageTextToText,
    AutoProcessor,
    Glm4vConfig,
    Glm4vForConditionalGeneration,
    Glm4vImageProcessor,
    Glm4vProcessor,
    Glm4vVideoProcessor,
    GenerationConfig,
)

from thinkvl.data.media import IMAGE_TOKEN_CAP, VIDEO_TOKEN_CAP, max_pixels_for_tokens
from thinkvl.model.tokenizer import EOS, PAD, VISION_TOKENS, train_tokenizer


@dataclass(frozen=True)
class TinyPreset:
    """Sizes of a GLM-4.1V-architecture model small enough for CPU training."""

    hidden: int = 128
    layers: int = 3
    heads: int = 4
    kv_heads: int = 2
    intermediate: int = 384
    vision_depth: int = 2
    vision_hidden: int = 96
    vision_heads: int = 4
    patch: int = 8
    merge: int = 2
    partial_rotary_factor: float = 0.5
    vocab_size: int = 1024
    min_image_side: int = 32  # images smaller than this are upscaled by the processor
    max_positions: int = 32768
    extra: dict = field(default_factory=dict)

    @property
    def mrope_section(self) -> list[int]:
        """Split half the rotary dimension over (time, height, width), as mrope requires."""
        half = int(self.hidden // self.heads * self.partial_rotary_factor) // 2
        t = half // 4
        h = (half - t) // 2
        return [t, h, half - t - h]


PRESETS = {"tiny": TinyPreset(), "small": TinyPreset(hidden=256, layers=4, intermediate=768, vision_hidden=128)}


def _model_config(preset: TinyPreset, tokenizer) -> Glm4vConfig:
    ids = tokenizer.convert_tokens_to_ids
    text = dict(
        vocab_size=len(tokenizer),
        hidden_size=preset.hidden,
        intermediate_size=preset.intermediate,
        num_hidden_layers=preset.layers,
        num_attention_heads=preset.heads,
        num_key_value_heads=preset.kv_heads,
        max_position_embeddings=preset.max_positions,
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": preset.mrope_section,
            "partial_rotary_factor": preset.partial_rotary_factor,
        },
        pad_token_id=tokenizer.pad_token_id,
        # GLM-4.1V's q/k/v projections carry biases (transformers builds them unconditionally);
        # vLLM reads this flag, and without it drops the biases (nonzero after any update).
        attention_bias=True,
    )
    vision = dict(
        depth=preset.vision_depth,
        hidden_size=preset.vision_hidden,
        num_heads=preset.vision_heads,
        intermediate_size=preset.vision_hidden * 2,
        patch_size=preset.patch,
        spatial_merge_size=preset.merge,
        temporal_patch_size=2,
        image_size=preset.patch * 8,
        out_hidden_size=preset.hidden,
    )
    return Glm4vConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids("<|image|>"),
        video_token_id=ids("<|video|>"),
        image_start_token_id=ids("<|begin_of_image|>"),
        image_end_token_id=ids("<|end_of_image|>"),
        video_start_token_id=ids("<|begin_of_video|>"),
        video_end_token_id=ids("<|end_of_video|>"),
    )


def _processor(preset: TinyPreset, tokenizer) -> Glm4vProcessor:
    common = dict(patch_size=preset.patch, merge_size=preset.merge, temporal_patch_size=2)
    min_pixels = preset.min_image_side * preset.min_image_side * 2
    image = Glm4vImageProcessor(
        size={"shortest_edge": min_pixels,
              "longest_edge": max_pixels_for_tokens(IMAGE_TOKEN_CAP, preset.patch, preset.merge)},
        **common,
    )
    video = Glm4vVideoProcessor(
        size={"shortest_edge": min_pixels,
              "longest_edge": max_pixels_for_tokens(VIDEO_TOKEN_CAP, preset.patch, preset.merge)},
        **common,
    )
    return Glm4vProcessor(image_processor=image, tokenizer=tokenizer, video_processor=video,
                          chat_template=tokenizer.chat_template)


def default_corpus() -> list[str]:
    """Texts the tokenizer is trained on: everything the synthetic world can say."""
    from thinkvl.data.synthetic import vocabulary_corpus

    return vocabulary_corpus()


def build_tiny(out_dir: str | Path, preset: str | TinyPreset = "tiny", seed: int = 0,
               corpus: Iterable[str] | None = None, calibrate: bool = True) -> Path:
    """Create a randomly initialised tiny GLM-4.1V model + tokenizer + processor in ``out_dir``.

    ``calibrate`` (default) centres and scales the random vision tower's output on synthetic
    images (see ``thinkvl.model.calibrate``): without it the tiny model cannot learn to read
    glyphs in a CPU budget."""
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"unknown model preset {preset!r}; expected one of {sorted(PRESETS)}")
        preset = PRESETS[preset]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = train_tokenizer(corpus if corpus is not None else default_corpus(), preset.vocab_size)
    model = Glm4vForConditionalGeneration(_model_config(preset, tokenizer))
    processor = _processor(preset, tokenizer)
    if calibrate:
        from thinkvl.model.calibrate import calibrate_vision, synthetic_calibration_images

        calibrate_vision(model, processor, synthetic_calibration_images())
    eos_ids = [tokenizer.convert_tokens_to_ids(EOS), tokenizer.convert_tokens_to_ids("<|user|>")]
    model.generation_config = GenerationConfig(
        eos_token_id=eos_ids, pad_token_id=tokenizer.pad_token_id, do_sample=True,
        temperature=1.0, top_p=1.0, max_new_tokens=64,
        suppress_tokens=never_generate_ids(tokenizer),
    )
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    (out_dir / "thinkvl_preset.json").write_text(__import__("json").dumps(asdict(preset), indent=1))
    return out_dir


def never_generate_ids(tokenizer) -> list[int]:
    """Tokens a policy must never sample: a sampled vision placeholder breaks the next forward
    pass ("Image features and image tokens do not match"), and role/pad tokens mean nothing."""
    names = [*VISION_TOKENS, PAD, "[gMASK]", "<sop>", "<|system|>"]
    ids = [tokenizer.convert_tokens_to_ids(t) for t in names]
    return [i for i in ids if i is not None and i != tokenizer.unk_token_id]


def check_family(path: str | Path, trust_remote_code: bool = False) -> str:
    """The ``model_type`` of a model folder, refused when thinkvl has no adapter for it (an
    unknown or unsupported family, e.g. Kimi-VL, says why) unless ``trust_remote_code``: then the
    checkpoint's own code may load it, and stages needing an adapter fail when they ask for one."""
    import json

    from thinkvl.model.families import get_family

    path = Path(path)
    try:
        model_type = json.loads((path / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError) as err:
        raise ValueError(f"{path / 'config.json'} cannot be read: {err}") from err
    try:
        get_family(str(model_type))
    except ValueError as err:
        if not trust_remote_code:
            raise ValueError(f"{path}: {err}") from err
    return str(model_type)


def load_model(path: str | Path, dtype: torch.dtype | str | None = None, device: str | None = None,
               trust_remote_code: bool = False):
    """Load any Hugging Face image-text-to-text model folder of a supported family (the tiny one
    or a real checkpoint). ``trust_remote_code`` (off by default) runs code shipped with the
    checkpoint, for families transformers does not implement; only pass it for code you trust."""
    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(
            f"{path} is not a model folder (no config.json); build one with "
            f"`thinkvl model init --out {path}` or point at a Hugging Face checkpoint folder"
        )
    check_family(path, trust_remote_code)
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=dtype or "auto",
                                                        trust_remote_code=trust_remote_code)
    if device:
        model.to(device)
    return model


def load_processor(path: str | Path, trust_remote_code: bool = False):
    """Load the processor (tokenizer + image/video processors + chat template) of a model folder
    (``trust_remote_code``: as for ``load_model``)."""
    path = Path(path)
    if (path / "config.json").exists():
        check_family(path, trust_remote_code)
    return AutoProcessor.from_pretrained(path, trust_remote_code=trust_remote_code)


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
