"""A small byte-level BPE tokenizer for the tiny model, trained locally in milliseconds.

Nothing can be downloaded at run time, so the tiny model's tokenizer is trained on texts the
synthetic world can emit. Byte-level BPE never meets an unknown character, digits are split
one by one (numbers stay learnable for a tiny model), and the protocol markers, chat roles and
vision placeholders are single special tokens, as in GLM-4.1V.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from thinkvl.format import PROTOCOL_MARKERS

PAD = "<|pad|>"
EOS = "<|endoftext|>"
ROLE_TOKENS = ("[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>")
VISION_TOKENS = (
    "<|begin_of_image|>", "<|end_of_image|>", "<|image|>",
    "<|begin_of_video|>", "<|end_of_video|>", "<|video|>",
)
SPECIAL_TOKENS = (PAD, EOS, *ROLE_TOKENS, *VISION_TOKENS, *PROTOCOL_MARKERS)

# GLM-4.1V's chat layout: [gMASK]<sop><|role|>\n…, images as <|begin_of_image|><|image|><|end_of_image|>.
# The processor expands each <|image|> / <|video|> into the right number of vision tokens.
CHAT_TEMPLATE = (
    "[gMASK]<sop>"
    "{%- for message in messages -%}"
    "<|{{ message['role'] }}|>{{ '\\n' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'image' -%}<|begin_of_image|><|image|><|end_of_image|>"
    "{%- elif item['type'] == 'video' -%}<|begin_of_video|><|video|><|end_of_video|>"
    "{%- elif item['type'] == 'text' -%}{{ item['text'] }}"
    "{%- endif -%}{%- endfor -%}{%- endif -%}"
    "{%- if message['role'] == 'assistant' -%}" + EOS + "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}<|assistant|>{{ '\\n' }}{%- endif -%}"
)


def train_tokenizer(corpus: Iterable[str], vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on ``corpus`` and wrap it as a Hugging Face fast tokenizer."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(corpus), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=[t for t in SPECIAL_TOKENS if t not in (EOS, PAD)],
        padding_side="left",
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def markers_not_special(folder: str | Path) -> list[str]:
    """Make the protocol markers ordinary added tokens of the tokenizer saved in ``folder`` (in
    place); returns the markers changed.

    They stay single tokens with the same ids (added tokens are matched whole whether special or
    not), but ``decode(..., skip_special_tokens=True)`` — how verl's reward managers and TRL
    decode completions — keeps them, so a reward function sees ``<think>…</think><answer>…``.
    Edits ``tokenizer.json`` (the ``special`` flag of each marker) and ``tokenizer_config.json``
    (the markers leave its special-token lists, which would mark them special again on load).
    """
    folder = Path(folder)
    path = folder / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: markers_not_special edits a fast tokenizer saved "
                                "with save_pretrained")
    data = json.loads(path.read_text(encoding="utf-8"))
    changed = []
    for token in data.get("added_tokens", []):
        if token.get("content") in PROTOCOL_MARKERS and token.get("special"):
            token["special"] = False
            changed.append(token["content"])
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    config_path = folder / "tokenizer_config.json"
    if config_path.is_file():
        config = json.loads(config_path.read_text(encoding="utf-8"))
        for key in ("extra_special_tokens", "additional_special_tokens"):
            if isinstance(config.get(key), list):
                config[key] = [t for t in config[key] if t not in PROTOCOL_MARKERS]
        for entry in (config.get("added_tokens_decoder") or {}).values():
            if entry.get("content") in PROTOCOL_MARKERS:
                entry["special"] = False
        config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
    return changed
