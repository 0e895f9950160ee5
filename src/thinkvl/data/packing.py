"""Sequence packing: many samples per ``seq_len`` row, each still seeing only itself.

A row holds several samples back to back. Every sample keeps its own position ids (restarting
at 0), and the model is given a leading row of plain text positions: Hugging Face then builds a
block-diagonal causal mask on CPU (or cu_seqlens for varlen flash attention on GPU), so no token
attends across samples. For multimodal-RoPE models (GLM-4.1V, Qwen-VL) each sample's 3-D
positions come from the model's own ``get_rope_index`` and are passed as ``(4, rows, width)``:
``[text; temporal; height; width]``. Labels of each sample's first token are cleared so the
loss never predicts one sample from the previous one.

Packing is streaming best-fit: the oldest waiting sample opens a row (nothing starves), then the
largest waiting sample of the same batch group that still fits is added, until none fits. The
group is the family's ``batch_key`` (``PackItem.batch``): GLM-4.1V and SmolVLM cannot take images
and video in one forward pass, LLaVA-OneVision videos only with videos of as many frames; other
families put everything together. Every other processor output batches by the family's rules
(``model.families.batching``: Idefics3's per-row images join along their second dimension).
Efficiency is real tokens / (rows × seq_len).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from thinkvl.model.families.batching import Unit, collate_fields
from thinkvl.model.inputs import IGNORE, Encoded, batching_rules, modality
from thinkvl.model.positions import sample_positions, uses_mrope


@dataclass
class PackItem:
    """One encoded sample waiting to be packed, and what rebuilds it after a restart."""

    sample: Encoded
    positions: torch.Tensor | None = None  # (3, n) multimodal-RoPE positions, or None
    key: Any = None  # e.g. the source record (kept in checkpoints)
    batch: str | None = None  # the family's batch group (None: image/video, GLM-4.1V's split)

    @property
    def length(self) -> int:
        return len(self.sample.input_ids)

    @property
    def modality(self) -> str:
        return self.batch if self.batch is not None else modality(self.sample)

    @property
    def loss_tokens(self) -> int:
        return sum(1 for t in self.sample.labels[1:] if t != IGNORE)


@dataclass
class Pack:
    """One row: samples laid end to end, at most ``seq_len`` tokens (not counting fillers)."""

    items: list[PackItem] = field(default_factory=list)
    seq_len: int = 0

    @property
    def length(self) -> int:
        return sum(i.length for i in self.items)

    @property
    def modality(self) -> str:
        return self.items[0].modality if self.items else "image"

    @property
    def has_vision(self) -> bool:
        return any(i.sample.vision for i in self.items)


class Packer:
    """Streaming best-fit packer over :class:`PackItem` s (see the module docstring)."""

    def __init__(self, seq_len: int):
        if seq_len < 1:
            raise ValueError(f"seq_len must be ≥ 1, got {seq_len}")
        self.seq_len = seq_len
        self._next = 0
        self._items: dict[int, PackItem] = {}  # arrival number → item (dicts keep order)
        self._by_len: dict[str, list[tuple[int, int]]] = {}  # modality → sorted (length, arrival)
        self._tokens: dict[str, int] = {}  # modality → buffered tokens

    def __len__(self) -> int:
        return len(self._items)

    @property
    def buffered_tokens(self) -> int:
        return sum(self._tokens.values())

    def tokens_of(self, modality: str) -> int:
        return self._tokens.get(modality, 0)

    def next_modality(self) -> str | None:
        """Modality of the row ``pop_pack`` will build next (that of the oldest sample)."""
        return self._items[next(iter(self._items))].modality if self._items else None

    def add(self, item: PackItem) -> None:
        if item.length > self.seq_len:
            raise ValueError(f"a sample of {item.length} tokens cannot fit seq_len {self.seq_len}")
        n = self._next
        self._next += 1
        self._items[n] = item
        bisect.insort(self._by_len.setdefault(item.modality, []), (item.length, n))
        self._tokens[item.modality] = self._tokens.get(item.modality, 0) + item.length

    def _take(self, n: int) -> PackItem:
        item = self._items.pop(n)
        lst = self._by_len[item.modality]
        lst.pop(bisect.bisect_left(lst, (item.length, n)))
        self._tokens[item.modality] -= item.length
        return item

    def pop_pack(self) -> Pack:
        """Build one row from the buffer (the caller keeps the buffer topped up)."""
        if not self._items:
            raise ValueError("the packer is empty")
        first = self._take(next(iter(self._items)))
        pack = Pack([first], self.seq_len)
        room = self.seq_len - first.length
        lst = self._by_len[first.modality]
        while room > 0 and lst:
            i = bisect.bisect_right(lst, (room, float("inf"))) - 1
            if i < 0:
                break
            item = self._take(lst[i][1])
            pack.items.append(item)
            room -= item.length
        return pack

    def keys(self) -> list[Any]:
        """The buffered items' keys, oldest first (to rebuild the buffer after a restart)."""
        return [i.key for i in self._items.values()]


def needs_more(packer: Packer, buffer_tokens: int, max_buffer_tokens: int) -> bool:
    """Keep reading while the buffer is under ``buffer_tokens``, or while the next row's
    modality has less than a row's worth waiting (a rare modality such as video must gather
    enough candidates to fill its row) and the buffer is under ``max_buffer_tokens``."""
    total = packer.buffered_tokens
    if total < buffer_tokens:
        return True
    nxt = packer.next_modality()
    return nxt is not None and packer.tokens_of(nxt) < packer.seq_len and total < max_buffer_tokens


def pack_stream(items: Iterator[PackItem], seq_len: int, buffer_tokens: int,
                max_buffer_tokens: int | None = None) -> Iterator[Pack]:
    """Packs from an item stream, keeping about ``buffer_tokens`` tokens to choose from."""
    packer = Packer(seq_len)
    cap = max_buffer_tokens if max_buffer_tokens is not None else 16 * max(buffer_tokens, seq_len)
    exhausted = False
    while True:
        while not exhausted and needs_more(packer, buffer_tokens, cap):
            try:
                packer.add(next(items))
            except StopIteration:
                exhausted = True
        if not len(packer):
            return
        yield packer.pop_pack()


def efficiency(packs: list[Pack]) -> float:
    """Real tokens / slots (rows × seq_len)."""
    slots = sum(p.seq_len for p in packs)
    return sum(p.length for p in packs) / slots if slots else 0.0


def collate_packs(packs: list[Pack], pad_id: int, filler: PackItem | None = None, adapter=None) -> dict:
    """Model inputs for rows of packed samples, plus ``sample_index`` (rows, width): which sample
    of this batch each token belongs to (-1 on padding and fillers).

    Per-token fields (``mm_token_type_ids``, Gemma's ``token_type_ids``) are laid along the row
    like the ids (0 where a sample lacks one); every other field batches by the family's rules
    (``adapter``; without one, concatenated in sample order). ``filler`` (a vision sample with no
    loss) is appended to rows of a batch that has no vision input at all, so every rank runs the
    vision tower under FSDP (its collectives must match).
    """
    rows = [list(p.items) for p in packs]
    filled = filler is not None and not any(p.has_vision for p in packs)
    if filled:
        rows[-1] = rows[-1] + [filler]
    items = [i for row in rows for i in row]
    rules = batching_rules([i.sample for i in items], adapter)
    token_keys = sorted({k for i in items for k in i.sample.token_fields})
    mrope = any(i.positions is not None for i in items)
    width = max(sum(i.length for i in row) for row in rows)
    n_rows = len(rows)
    input_ids = torch.full((n_rows, width), pad_id, dtype=torch.long)
    labels = torch.full((n_rows, width), IGNORE, dtype=torch.long)
    tokens = {k: torch.zeros((n_rows, width), dtype=torch.long) for k in token_keys}
    text_pos = torch.zeros((n_rows, width), dtype=torch.long)
    rope_pos = torch.zeros((3, n_rows, width), dtype=torch.long) if mrope else None
    sample_index = torch.full((n_rows, width), -1, dtype=torch.long)
    per_row: list[dict] = []  # ROW fields, joined along dim 1 within a row
    rest: list[dict] = []  # every other vision field, in sample order
    k = 0
    for r, row in enumerate(rows):
        o = 0
        joined: dict[str, list[torch.Tensor]] = {}
        for item in row:
            s, n = item.sample, item.length
            input_ids[r, o:o + n] = torch.as_tensor(s.input_ids)
            lab = torch.as_tensor(s.labels)
            lab[0] = IGNORE  # never predict a sample's first token from the previous sample
            labels[r, o:o + n] = lab
            for key, values in s.token_fields.items():
                tokens[key][r, o:o + n] = torch.as_tensor(values)
            text_pos[r, o:o + n] = torch.arange(n)
            if rope_pos is not None:
                pos = item.positions if item.positions is not None else torch.arange(n).expand(3, n)
                rope_pos[:, r, o:o + n] = pos
            if not (filled and item is filler):
                sample_index[r, o:o + n] = k
                k += 1
            else:
                labels[r, o:o + n] = IGNORE
            for key, value in s.vision.items():
                if rules[key].unit is Unit.ROW:
                    joined.setdefault(key, []).append(value)
            rest.append({key: v for key, v in s.vision.items() if rules[key].unit is not Unit.ROW})
            o += n
        if o < width:  # padding: a separate "sample" of its own, positions from 0
            text_pos[r, o:] = torch.arange(width - o)
            if rope_pos is not None:
                rope_pos[:, r, o:] = torch.arange(width - o)
        per_row.append({"input_ids": input_ids[r:r + 1],
                        **{key: _join_row(v, rules[key].pad) for key, v in joined.items()}})
    batch = {"input_ids": input_ids, "labels": labels, **tokens, "sample_index": sample_index}
    batch["position_ids"] = torch.cat([text_pos[None], rope_pos], 0) if rope_pos is not None else text_pos
    if any(len(p) > 1 for p in per_row):
        row_fields = collate_fields(per_row, rules, pad_id)
        batch.update({key: v for key, v in row_fields.items() if key != "input_ids"})
    if any(rest):
        batch.update(collate_fields([r for r in rest if r], rules, pad_id))
    return batch


def _join_row(values: list[torch.Tensor], pad) -> torch.Tensor:
    """One row's per-row tensors (1, n_i, ...) joined along dim 1 (padded to a common shape)."""
    shape = [max(v.shape[d] for v in values) for d in range(2, values[0].dim())]
    out = []
    for v in values:
        grow = [x for d in reversed(range(2, v.dim())) for x in (0, shape[d - 2] - v.shape[d])]
        out.append(torch.nn.functional.pad(v, grow, value=pad if pad is not None else 0) if any(grow) else v)
    return torch.cat(out, dim=1)


def make_rope_positions(model, adapter=None) -> Callable[[Encoded], torch.Tensor] | None:
    """Per-sample multimodal-RoPE positions from the model's ``get_rope_index`` fed every input it
    takes (None for models with plain 1-D positions)."""
    if not uses_mrope(model, adapter):
        return None
    return lambda sample: sample_positions(model, sample, adapter=adapter)
