"""A synthetic multimodal world a ~1M-parameter VLM can learn from 64×64 pixels.

Eight domains (one generator module each), four difficulty levels, and every view of a sample
— RL prompt and ground truth, SFT reasoning, pre-training caption — built from the same drawing,
so they always agree. ``generate_world`` writes pretrain / sft / rl_train / rl_eval JSONL files
with their media and a manifest; ``vocabulary_corpus`` is the tokenizer's training text.
"""

from __future__ import annotations

from .registry import DOMAINS, GENERATORS, resolve_domains
from .sample import LEVELS, Sample
from .vocab import vocabulary_corpus
from .world import GENERATOR_VERSION, generate_world, split_sizes

__all__ = [
    "DOMAINS", "GENERATORS", "GENERATOR_VERSION", "LEVELS", "Sample", "generate_world",
    "resolve_domains", "split_sizes", "vocabulary_corpus",
]
