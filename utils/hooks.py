"""Tools built on PyTorch's hooks to see inside a model; each removes its hooks when done.

>>> with SavedTensorMeter(ignore=model.parameters()) as meter:
...     loss = model(x).sum()
>>> meter.bytes        # activation memory kept alive for backward
"""
from __future__ import annotations

from collections.abc import Iterable

import torch


class SavedTensorMeter:
    """Count the tensors autograd saves for the backward pass inside a ``with`` block.

    Uses ``torch.autograd.graph.saved_tensors_hooks``. Tensors sharing one storage are
    counted once; storages of the tensors in ``ignore`` (typically ``model.parameters()``,
    which exist anyway) are not counted, so ``bytes`` is the activation memory that
    backpropagation keeps alive.

    >>> x = torch.ones(1000, requires_grad=True)
    >>> with SavedTensorMeter() as m: y = (x * x).sum()
    >>> m.bytes   # x saved for the product (once, though used twice)
    4000
    """

    def __init__(self, ignore: Iterable[torch.Tensor] = ()) -> None:
        self._ignored = {self._key(t) for t in ignore}
        self._seen: set[tuple[str, int]] = set()
        self.bytes = 0
        self.count = 0
        self._context: torch.autograd.graph.saved_tensors_hooks | None = None

    @staticmethod
    def _key(t: torch.Tensor) -> tuple[str, int]:
        return str(t.device), t.untyped_storage().data_ptr()

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        self.count += 1
        key = self._key(t)
        if key not in self._ignored and key not in self._seen:
            self._seen.add(key)
            self.bytes += t.untyped_storage().nbytes()
        return t

    def __enter__(self) -> "SavedTensorMeter":
        self._context = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)
        self._context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._context is not None
        self._context.__exit__(*exc)
        self._context = None
