"""Small shims over ``transformers`` API changes within the supported range (>= 5.16.1, < 6).

The laptop set pins a transformers that vLLM's CPU build accepts (5.19), while a current
install may carry a newer 5.x; thinkvl's own decoding loop and actor must run on both:

* the KV-cache keyword of a model's ``forward`` and the field of its output were renamed from
  ``past_key_values`` to ``cache`` (5.2x). ``cache_kwargs`` and ``returned_cache`` pick the
  name the loaded model uses, read from its ``forward`` signature, not from a version number;
* a boolean ``logits_to_keep`` mask (logits only where a token is trained) is understood only
  by transformers that slice hidden states with ``slice_logits_to_keep``; older ones fail on
  it, so ``keep_logits`` asks those for every position (``0``) and the caller selects.
"""

from __future__ import annotations

import inspect
from functools import lru_cache


@lru_cache(maxsize=None)
def _cache_name(forward_cls: type) -> str:
    params = inspect.signature(forward_cls.forward).parameters
    if "cache" in params:
        return "cache"
    if "past_key_values" in params:
        return "past_key_values"
    raise TypeError(f"{forward_cls.__name__}.forward takes neither `cache` nor `past_key_values`; "
                    "thinkvl's decoding loop needs a model with a KV-cache argument")


def cache_kwargs(model, cache) -> dict:
    """``{name: cache}`` for ``model(**inputs, **cache_kwargs(model, cache))``."""
    return {_cache_name(type(model)): cache}


def returned_cache(output):
    """The KV cache a forward returned (``output.cache`` or ``output.past_key_values``)."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else getattr(output, "past_key_values", None)


def keep_logits(mask):
    """``logits_to_keep`` for a boolean (B, T) mask of wanted positions: the mask itself where
    transformers supports it, else 0 (all positions; select with the mask afterwards)."""
    import transformers.modeling_utils as mu

    return mask if hasattr(mu, "slice_logits_to_keep") else 0
