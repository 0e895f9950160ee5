"""Model adapters, one per VLM family, chosen from the Hugging Face config's ``model_type``.

``adapter_for(config, processor)`` is the one call stages make: it returns the family's
``Family`` bound to that checkpoint, which answers turn ends and stop ids, marker handling,
how processor outputs batch, vision-token counts and budgets, positions, whether thinkvl's fast
decoding loop applies, and which modules are the vision tower and projector (``base.py``).
"""

from __future__ import annotations

from importlib import import_module
from weakref import WeakKeyDictionary

from thinkvl.model.families.base import Family

# name -> module; each module defines exactly one Family subclass with that name.
_MODULES = {
    "glm4v": "glm4v",
    "qwen2_vl": "qwen2_vl",
    "qwen2_5_vl": "qwen2_5_vl",
    "qwen3_vl": "qwen3_vl",
    "gemma3": "gemma3",
    "llava_onevision": "llava_onevision",
    "internvl": "internvl",
    "idefics3": "idefics3",
    "smolvlm": "smolvlm",
}

# Families asked for that cannot be supported here, and why (the error a user sees).
UNSUPPORTED = {
    "kimi_vl": (
        "Kimi-VL (model_type 'kimi_vl') ships its modelling code with the checkpoint "
        "(trust_remote_code) and is not part of transformers; without that code (no download here) "
        "there is nothing to load or test. Load it yourself with trust_remote_code=True at your own "
        "risk; thinkvl has no adapter for it."
    ),
}

FAMILIES: tuple[str, ...] = tuple(_MODULES)


def get_family(name: str) -> type[Family]:
    """The ``Family`` class registered as ``name`` (a family name or a config ``model_type``)."""
    if name in UNSUPPORTED:
        raise ValueError(UNSUPPORTED[name])
    if name in _MODULES:
        return _family_class(_MODULES[name])
    for module in _MODULES.values():
        cls = _family_class(module)
        if name in cls.model_types:
            return cls
    raise ValueError(f"no thinkvl adapter for model family {name!r}; supported: {', '.join(FAMILIES)}")


def _family_class(module: str) -> type[Family]:
    mod = import_module(f"thinkvl.model.families.{module}")
    classes = [v for v in vars(mod).values()
               if isinstance(v, type) and issubclass(v, Family) and v.__module__ == mod.__name__]
    if len(classes) != 1:
        raise RuntimeError(f"thinkvl.model.families.{module} must define exactly one Family, found {classes}")
    return classes[0]


def family_for(config) -> type[Family]:
    """The family of a model config (or a model: its ``config`` is used)."""
    config = getattr(config, "config", config)
    return get_family(config.model_type)


def adapter_for(model_or_config, processor) -> Family:
    """The adapter bound to this checkpoint's config and processor (and, given a model, its
    generation config, whose eos ids join the stop ids). One adapter per (processor, model or
    config) is kept, so the chat template is rendered once, not per sample."""
    config = getattr(model_or_config, "config", model_or_config)
    generation = getattr(model_or_config, "generation_config", None)
    kept = _ADAPTERS.setdefault(processor, [])
    for owner, adapter in kept:
        if owner is model_or_config and adapter.config is config:
            return adapter
    adapter = family_for(config)(config, processor, generation)
    kept.append((model_or_config, adapter))
    del kept[:-4]  # a processor meets few models; keep the last ones
    return adapter


# processor -> [(model or config, adapter)]; weak on the processor (eval caps copy processors).
_ADAPTERS: WeakKeyDictionary = WeakKeyDictionary()


def family_of_processor(processor) -> type[Family]:
    """The family whose processor class ``processor`` is (encoding needs no model config)."""
    name = type(processor).__name__
    for module in _MODULES.values():
        cls = _family_class(module)
        if name in cls.processor_classes:
            return cls
    raise ValueError(f"no thinkvl adapter for processor {name}; supported families: {', '.join(FAMILIES)} "
                     "(pass the adapter, adapter_for(model, processor), where a model is at hand)")


def as_adapter(processor_or_adapter, model=None) -> Family:
    """An adapter from what a caller holds: an adapter as is; a processor with its model (the
    checkpoint's adapter); a processor alone (the family from its processor class, no config:
    enough to encode, collate and read the chat template)."""
    if isinstance(processor_or_adapter, Family):
        return processor_or_adapter
    if model is not None:
        return adapter_for(model, processor_or_adapter)
    kept = _ADAPTERS.setdefault(processor_or_adapter, [])
    for owner, adapter in kept:
        if owner is None:
            return adapter
    adapter = family_of_processor(processor_or_adapter)(None, processor_or_adapter)
    kept.append((None, adapter))
    return adapter
