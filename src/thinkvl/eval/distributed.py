"""Data-parallel evaluation under ``torchrun``: each rank generates its share, one store.

``torchrun --nproc_per_node N -m thinkvl.cli eval …`` starts N copies of the same command.
Every rank loads the benchmarks and the store identically, so all agree on which predictions
are missing; rank r generates every N-th of them (its own model copy, on GPU r when there is
one) and appends to its own shard file; at each benchmark × mode boundary the ranks meet, rank
0 folds the shards into the one append-only ``predictions.jsonl``, and scores and writes the
reports alone (judge calls are made once). A crash leaves shard files behind; the next run
reads them, so nothing generated is lost and the run resumes per sample. A rank that fails
ends the whole run (torchrun stops the others), so no rank waits forever at a meeting point.

Plain ``torch.distributed`` (gloo on CPU, NCCL on GPU), nothing home-made; a single process
never imports it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class DataParallel:
    rank: int
    world: int
    local_rank: int
    owns_group: bool = False  # this module started the process group (and ends it)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()

    def share(self, indices: list[int]) -> list[int]:
        """This rank's share: every ``world``-th index, starting at ``rank``."""
        return indices[self.rank::self.world]

    def gather(self, store) -> int:
        """Meet, let rank 0 fold every rank's shard into the one store, meet again, and let the
        others re-read it. Returns the rows rank 0 added (0 on other ranks)."""
        self.barrier()
        added = store.merge_shards() if self.is_main else 0
        self.barrier()
        if not self.is_main:
            store.reload()
        return added

    def close(self) -> None:
        if self.owns_group:
            import torch.distributed as dist

            dist.destroy_process_group()


def setup() -> DataParallel | None:
    """The torchrun world (``WORLD_SIZE`` > 1), its process group started if needed; None for
    a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return None
    import torch
    import torch.distributed as dist

    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    owns = False
    if not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(local)
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        owns = True
    return DataParallel(rank, world, local, owns)
