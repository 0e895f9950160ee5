"""A small byte-level BPE tokenizer for the tiny model, trained locally in milliseconds.

Nothing can be downloaded at run time, so the tiny model's tokenizer is trained on texts the
synthetic world can emit. Byte-level BPE never meets an unknown character, digits are split
one by one (numbers stay learnable for a tiny model), and the protocol markers, chat roles and
vision placeholders are single special tokens, as in GLM-4.1V.
"""

from __future__ import annotations

from collections.abc import Iterable

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
