"""Rollouts with thinkvl's own decoding loop over a Hugging Face model (CPU/GPU).

Each prompt is encoded and prefilled once per step and its KV cache shared by the group's n
rollouts (``generate_groups``); force-answering continues in the same cache.

Single process: the engine samples from the actor itself, so there is nothing to sync. Under
FSDP the actor's parameters are sharded and every forward is a collective, which ranks that
generate different lengths cannot share; the engine then keeps its own full copy (as a
colocated vLLM does) and ``sync`` gathers the actor's full weights into it after each update.
"""

from __future__ import annotations

import copy

import torch

from thinkvl.model.generate import Completion, generate_groups
from thinkvl.model.settings import GenerationSettings
from thinkvl.rl.data import Prompt


class HFRollout:
    def __init__(self, model, processor, settings: GenerationSettings, batch_size: int = 128,
                 separate_copy: bool = False):
        self.processor = processor
        self.settings = settings
        self.batch_size = batch_size
        self.model = copy.deepcopy(model) if separate_copy else model
        self.separate_copy = separate_copy

    def rollout(self, prompts: list[Prompt], n: int) -> list[list[Completion]]:
        was_training = self.model.training
        self.model.eval()
        try:
            return generate_groups(self.model, self.processor, [p.messages for p in prompts], n,
                                   self.settings, base_dirs=[p.base_dir for p in prompts],
                                   batch_size=self.batch_size, wheres=[p.source or p.id for p in prompts])
        finally:
            self.model.train(was_training)

    @torch.no_grad()
    def sync(self, actor_model) -> None:
        if not self.separate_copy:
            return
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        state = get_model_state_dict(actor_model, options=StateDictOptions(full_state_dict=True,
                                                                           broadcast_from_rank0=False))
        self.model.load_state_dict(state)
