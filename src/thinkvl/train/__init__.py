"""Supervised stages (pre-training, long-context continual pre-training, SFT) and the pieces every
trainer shares: FSDP2 setup (``distributed``) and atomic, exactly-resumable checkpoints
(``checkpoint``). Heavy modules are imported by name, not here, so ``import thinkvl.train`` is cheap."""
