"""Next-token loss on packed rows, weighted so gradient accumulation is exact.

Logits are computed only where a label exists (``logits_to_keep`` mask), which matters for real
vocabularies (8,192 positions × 150K vocabulary is 5 GB of fp32 logits). Each micro-batch's loss
is divided by the *whole step's* token or sample count (summed over ranks) and multiplied by the
world size (FSDP averages gradients over ranks), so the accumulated gradient equals the gradient
of one full-batch loss however the step is split into micro-batches and ranks. ``scale_loss``
serves the supervised stages (pre-training, SFT); RL normalises the same way in its own
``rl/loss.py`` (per optimizer step's sample or token count over all ranks), since ``rl`` imports
no ``train`` module.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from thinkvl.model.compat import keep_logits
from thinkvl.model.inputs import IGNORE

MODEL_EXTRA_KEYS = ("labels", "sample_index")


def token_losses(model, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of every label token (1-D, fp32) and the batch-local sample it belongs to."""
    labels = batch["labels"]
    targets = labels[:, 1:]
    keep = targets != IGNORE
    keep_full = F.pad(keep, (0, 1), value=False)  # position t predicts label t+1
    inputs = {k: v for k, v in batch.items() if k not in MODEL_EXTRA_KEYS}
    logits = model(**inputs, logits_to_keep=keep_logits(keep_full), use_cache=False).logits
    if logits.dim() == 3:  # a model without boolean logits_to_keep support: select here
        logits = logits[keep_full]
    ce = F.cross_entropy(logits.float(), targets[keep], reduction="none")
    sample = batch["sample_index"][:, 1:][keep] if "sample_index" in batch else torch.zeros_like(ce, dtype=torch.long)
    return ce, sample


def scale_loss(token_loss: torch.Tensor, sample: torch.Tensor, normalization: str,
               total_tokens: float, total_samples: float, world_size: int = 1) -> torch.Tensor:
    """This micro-batch's share of the step loss.

    ``token``: Σ token losses / step token count. ``sample``: Σ over samples of (mean token loss
    of the sample) / step sample count. Totals are over the whole step on all ranks; the
    ``world_size`` factor undoes FSDP's gradient averaging so ranks' shares add up.
    """
    if normalization == "token":
        share = token_loss.sum() / max(total_tokens, 1.0)
    elif normalization == "sample":
        if token_loss.numel() == 0:
            share = token_loss.sum()
        else:
            n = int(sample.max()) + 1
            sums = torch.zeros(n, dtype=token_loss.dtype, device=token_loss.device).index_add(0, sample, token_loss)
            counts = torch.bincount(sample, minlength=n).to(token_loss.dtype)
            present = counts > 0
            share = (sums[present] / counts[present]).sum() / max(total_samples, 1.0)
    else:
        raise ValueError(f"unknown loss normalization {normalization!r}; expected 'token' or 'sample'")
    return share * world_size
