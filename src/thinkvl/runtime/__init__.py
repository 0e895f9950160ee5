"""What every training stage shares: process groups and FSDP2, checkpoints, the optimizer and
its schedule, precision (fp32 master weights), vision freezing and the FSDP vision filler.

Stages (``rl``, ``train``) import from here and never from each other (see DESIGN.md)."""
