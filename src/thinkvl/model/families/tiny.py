"""Tiny random-initialised models of every family, saved as ordinary Hugging Face folders.

Nothing can be downloaded here, so each family's tiny model is assembled from parts we can make
offline: its ``transformers`` config with tiny sizes, a byte-level BPE tokenizer trained locally
in milliseconds that carries the family's *real* special tokens (ids differ, names do not), the
family's *real* chat template (``templates/*.jinja``, as published) and its real processor
classes configured for small images. Everything downstream then loads the folder with
``AutoModelForImageTextToText`` / ``AutoProcessor`` exactly as it would a real checkpoint, so
the code paths exercised are the family's own.

GLM-4.1V keeps its own builder (``thinkvl.model.factory.build_tiny``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoModelForImageTextToText, GenerationConfig, PreTrainedTokenizerFast

# Sizes shared by every tiny family (the text model; vision towers are set per family).
TEXT_HIDDEN = 64
TEXT_LAYERS = 2
TEXT_HEADS = 4
TEXT_KV_HEADS = 2
TEXT_INTERMEDIATE = 128
VISION_HIDDEN = 32
VISION_HEADS = 2
VISION_LAYERS = 1


@dataclass(frozen=True)
class TokenizerSpec:
    """The real tokenizer's vocabulary landmarks, which the tiny tokenizer reproduces by name.

    ``special`` are the family's special tokens (never split, skipped by
    ``skip_special_tokens``); ``added`` its added *non*-special tokens (Qwen3's ``<think>``);
    ``named`` the attributes processors read (``tokenizer.image_token`` …); ``add_bos``: the real
    tokenizer prepends ``bos`` by itself (Gemma, Llama 3), which is why rendered prompts must be
    tokenized with ``add_special_tokens=False`` (the template already wrote it).
    """

    special: tuple[str, ...]
    eos: str
    pad: str
    bos: str | None = None
    unk: str | None = None
    added: tuple[str, ...] = ()
    named: dict[str, str] = field(default_factory=dict)
    add_bos: bool = False


def template_text(name: str) -> str:
    """A chat template shipped in ``thinkvl/model/families/templates`` (``name`` without .jinja)."""
    return (resources.files("thinkvl.model.families") / "templates" / f"{name}.jinja").read_text()


def train_family_tokenizer(spec: TokenizerSpec, corpus: Iterable[str], vocab_size: int = 512,
                           template: str | None = None) -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on ``corpus`` carrying ``spec``'s tokens and roles."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    specials = list(dict.fromkeys(t for t in (spec.pad, spec.eos, spec.bos, spec.unk, *spec.special) if t))
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(corpus), trainer=trainer)
    if spec.added:
        tok.add_tokens(list(spec.added))
    if spec.add_bos:
        bos_id = tok.token_to_id(spec.bos)
        tok.post_processor = processors.TemplateProcessing(
            single=f"{spec.bos} $A", pair=f"{spec.bos} $A {spec.bos} $B", special_tokens=[(spec.bos, bos_id)])
    roles = {"eos_token": spec.eos, "pad_token": spec.pad, "bos_token": spec.bos, "unk_token": spec.unk}
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        **{k: v for k, v in roles.items() if v},
        additional_special_tokens=[t for t in specials if t not in roles.values()],
        extra_special_tokens=dict(spec.named),
        padding_side="left",
    )
    if template is not None:
        wrapped.chat_template = template
    return wrapped


def default_corpus() -> list[str]:
    from thinkvl.model.factory import default_corpus as corpus

    return corpus()


def build_tiny_family(name: str, out_dir: str | Path, seed: int = 0, corpus: Iterable[str] | None = None,
                      vocab_size: int = 512, template: str | None = None) -> Path:
    """Write the tiny model of family ``name`` (config, weights, tokenizer, processor) to ``out_dir``.

    ``template`` names another shipped template (e.g. ``qwen3_vl_thinking``) instead of the
    family's default. The generation config's stop ids and suppressed tokens come from the family
    adapter, read back from the saved folder, so the folder answers like a real checkpoint.
    """
    from thinkvl.model.families import get_family

    family = get_family(name)
    if family.tiny is None:  # GLM-4.1V: its own builder, with thinkvl's template and all markers
        from thinkvl.model.factory import build_tiny

        return build_tiny(out_dir, seed=seed, corpus=corpus)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    chat = template_text(template or family.tiny.template)
    tokenizer = train_family_tokenizer(family.tiny.tokens, corpus if corpus is not None else default_corpus(),
                                       vocab_size, chat)
    config = family.tiny.config(tokenizer)
    model = AutoModelForImageTextToText.from_config(config)
    if family.tiny.init is not None:
        family.tiny.init(model)
    processor = family.tiny.processor(tokenizer, chat)
    adapter = family(config, processor)
    model.generation_config = GenerationConfig(
        eos_token_id=adapter.stop_ids, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, do_sample=True, temperature=1.0, top_p=1.0,
        max_new_tokens=64, suppress_tokens=adapter.never_sample_ids,
    )
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    (out_dir / "thinkvl_family.json").write_text(json.dumps({"family": name, "seed": seed}, indent=1))
    return out_dir
