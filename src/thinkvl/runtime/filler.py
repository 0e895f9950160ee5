"""The FSDP vision filler: a loss-free small-image sample.

Under FSDP2 every forward is a collective: the vision tower's blocks all-gather their shards, so
every rank must run the tower in every micro-batch, including ranks whose micro-batch holds no
image. Such micro-batches get this sample appended (no labels, so it adds nothing to the loss);
the supervised stages and the RL actor use the same one. It is encoded like any prompt of the
family (``model.inputs``), so it carries exactly the fields the family's model takes.
"""

from __future__ import annotations

from thinkvl.data.packing import PackItem
from thinkvl.model.families import as_adapter
from thinkvl.model.inputs import Media, encode_sample


def dummy_vision_item(processor, positions=None) -> PackItem:
    """A small-image sample with no loss (``processor``: a processor or a family adapter): the
    smallest image GLM/Qwen patching takes (patch × merge pixels a side), 32 pixels elsewhere
    (every other family resizes it to its own fixed input)."""
    from PIL import Image

    adapter = as_adapter(processor)
    image = adapter.processor.image_processor
    patch, merge = getattr(image, "patch_size", None), getattr(image, "merge_size", None)
    side = int(patch) * int(merge) if isinstance(patch, int) and isinstance(merge, int) else 32
    prompt = [{"role": "user", "content": [{"type": "image", "image": "dummy"}]}]
    sample = encode_sample(adapter, prompt, None, media=Media(images=[Image.new("RGB", (side, side))]),
                           where="the FSDP vision filler")
    key = adapter.batch_key(sample)
    return PackItem(sample=sample, positions=positions(sample) if positions else None, key=None,
                    batch="/".join(map(str, key)) or "any")
