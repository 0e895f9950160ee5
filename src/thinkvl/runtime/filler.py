"""The FSDP vision filler: a loss-free smallest-image sample.

Under FSDP2 every forward is a collective: the vision tower's blocks all-gather their shards, so
every rank must run the tower in every micro-batch, including ranks whose micro-batch holds no
image. Such micro-batches get this sample appended (no labels, so it adds nothing to the loss);
the supervised stages and the RL actor use the same one.
"""

from __future__ import annotations

import torch

from thinkvl.data.packing import PackItem
from thinkvl.model.inputs import IGNORE, VISION_KEYS, Encoded


def dummy_vision_item(processor, positions=None) -> PackItem:
    """A smallest-image sample with no loss: appended to text-only batches under FSDP so every
    rank runs the vision tower (its all-gathers must happen on all ranks)."""
    from PIL import Image

    image = processor.image_processor
    side = int(image.patch_size) * int(image.merge_size)
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image", "image": "dummy"}]}], tokenize=False)
    enc = processor(text=[text], images=[Image.new("RGB", (side, side))], padding=False)
    ids = [int(t) for t in enc["input_ids"][0]]
    mm = [int(t) for t in enc["mm_token_type_ids"][0]] if "mm_token_type_ids" in enc else [0] * len(ids)
    vision = {k: torch.as_tensor(enc[k]) for k in VISION_KEYS if k in enc}
    sample = Encoded(input_ids=ids, labels=[IGNORE] * len(ids), mm_token_type_ids=mm, prompt_len=len(ids),
                     vision=vision)
    return PackItem(sample=sample, positions=positions(sample) if positions else None, key=None)
