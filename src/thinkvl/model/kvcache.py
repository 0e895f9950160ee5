"""The decoding loop's KV cache: keys and values in preallocated buffers.

One write per token instead of a ``torch.cat`` of the whole cache per token and layer (that was
half of a decoding step); rows that finished are dropped by index selection; caches of prompts
prefilled apart (one GLM-4.1V forward cannot mix images and video) are merged, right-aligned.
"""

from __future__ import annotations

import torch
from transformers.cache_utils import Cache, DynamicLayer


class BufferLayer(DynamicLayer):
    """One layer's keys/values in a preallocated buffer: a write per token, views for attention."""

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = capacity
        self.length = 0

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        self.device = key_states.device
        b, h, _, d = key_states.shape
        self.kbuf = key_states.new_zeros(b, h, self.capacity, d)
        self.vbuf = value_states.new_zeros(b, value_states.shape[1], self.capacity, value_states.shape[-1])
        self.is_initialized = True

    def _views(self) -> None:
        self.keys = self.kbuf[:, :, :self.length]
        self.values = self.vbuf[:, :, :self.length]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.capacity:  # never expected (capacity = prompt + budgets); grow rather than fail
            grow = max(end, 2 * self.capacity) - self.capacity
            self.kbuf = torch.cat([self.kbuf, self.kbuf.new_zeros(*self.kbuf.shape[:2], grow, self.kbuf.shape[3])], 2)
            self.vbuf = torch.cat([self.vbuf, self.vbuf.new_zeros(*self.vbuf.shape[:2], grow, self.vbuf.shape[3])], 2)
            self.capacity += grow
        self.kbuf[:, :, self.length:end] = key_states
        self.vbuf[:, :, self.length:end] = value_states
        self.length = end
        self._views()
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.length

    def batch_repeat_interleave(self, repeats: int) -> None:
        if self.is_initialized:
            self.kbuf = self.kbuf.repeat_interleave(repeats, dim=0)
            self.vbuf = self.vbuf.repeat_interleave(repeats, dim=0)
            self._views()

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self.is_initialized:
            self.kbuf = self.kbuf.index_select(0, indices)
            self.vbuf = self.vbuf.index_select(0, indices)
            self._views()


def merge_caches(caches: list[Cache], lengths: list[int], capacity: int) -> Cache:
    """Caches of separately prefilled batches as one, each right-aligned at the longest length
    (left padding, masked out by the attention mask)."""
    width = max(lengths)
    layers = []
    for li in range(len(caches[0].layers)):
        parts = [c.layers[li] for c in caches]
        rows = sum(p.kbuf.shape[0] for p in parts)
        kbuf = parts[0].kbuf.new_zeros(rows, parts[0].kbuf.shape[1], capacity, parts[0].kbuf.shape[3])
        vbuf = parts[0].vbuf.new_zeros(rows, parts[0].vbuf.shape[1], capacity, parts[0].vbuf.shape[3])
        r = 0
        for part, n in zip(parts, lengths):
            b = part.kbuf.shape[0]
            kbuf[r:r + b, :, width - n:width] = part.kbuf[:, :, :n]
            vbuf[r:r + b, :, width - n:width] = part.vbuf[:, :, :n]
            r += b
        layer = BufferLayer(capacity)
        layer.kbuf, layer.vbuf, layer.length, layer.is_initialized = kbuf, vbuf, width, True
        layer.device = kbuf.device
        layer._views()
        layers.append(layer)
    return Cache(layers=layers)
