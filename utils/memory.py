"""Measuring the memory autograd keeps for the backward pass, with saved-tensor hooks.

These are hooks on the autograd graph (``torch.autograd.graph.saved_tensors_hooks``), not on
modules: they see every tensor an operation saves for its backward, whoever calls it.

>>> saved_bytes(nn.Sequential(nn.Linear(10, 10), nn.ReLU()), torch.ones(4, 10))
320
"""
from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

__all__ = ["SavedTensorMeter", "saved_bytes"]


class SavedTensorMeter:
    """Count the tensors autograd saves for the backward pass inside a ``with`` block.

    Uses ``torch.autograd.graph.saved_tensors_hooks``. Tensors sharing one storage are
    counted once; storages of the tensors in ``ignore`` (typically ``model.parameters()``,
    which exist anyway) are not counted, so ``bytes`` is the activation memory that
    backpropagation keeps alive. ``count`` is the number of tensors saved (shared or not).
    A storage freed inside the block (its graph dropped) and a new one at the same address
    count as two, so several forward passes in one block add up.

    It counts what is *saved* while the block runs, not the peak memory of the whole step:
    under ``torch.utils.checkpoint`` a segment's activations are rebuilt during backward,
    after the block has ended, and that transient peak is not seen here (measure it with
    ``torch.cuda.max_memory_allocated`` on a GPU, or ``torch.profiler`` with
    ``profile_memory=True``).

    >>> x = torch.ones(1000, requires_grad=True)
    >>> with SavedTensorMeter() as m: y = (x * x).sum()
    >>> m.bytes   # x saved for the product (once, though used twice)
    4000
    """

    def __init__(self, ignore: Iterable[torch.Tensor] = ()) -> None:
        if isinstance(ignore, torch.Tensor):
            ignore = [ignore]
        self._ignored = {self._key(t) for t in ignore}
        self._seen: dict[tuple[str, int], list[weakref.ref]] = {}
        self.bytes = 0
        self.count = 0
        self._context: torch.autograd.graph.saved_tensors_hooks | None = None

    @staticmethod
    def _key(t: torch.Tensor) -> tuple[str, int]:
        return str(t.device), t.untyped_storage().data_ptr()

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        self.count += 1
        key = self._key(t)
        if key in self._ignored:
            return t
        alive = [ref for ref in self._seen.get(key, []) if ref() is not None]
        if not alive:  # a storage not seen yet (or freed since, its address reused)
            self.bytes += t.untyped_storage().nbytes()
        self._seen[key] = [*alive, weakref.ref(t)]
        return t

    def __enter__(self) -> "SavedTensorMeter":
        if self._context is not None:
            raise RuntimeError("this SavedTensorMeter is already in use; make a new one for a nested block")
        self._context = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)
        self._context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._context is not None:
            self._context.__exit__(*exc)
        self._context = None
        self._seen.clear()

    def __repr__(self) -> str:
        return f"SavedTensorMeter(bytes={self.bytes:,}, count={self.count})"


def saved_bytes(model: nn.Module, *inputs: Any) -> int:
    """Bytes of activations that one forward pass of ``model`` saves for backward (its
    parameters not counted): ``SavedTensorMeter`` around ``model(*inputs)``.

    >>> saved_bytes(nn.Sequential(nn.Linear(10, 10), nn.ReLU()), torch.ones(4, 10))
    320
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"saved_bytes measures an nn.Module, got {type(model).__name__}")
    with SavedTensorMeter(ignore=model.parameters()) as meter:
        model(*inputs)
    return meter.bytes
