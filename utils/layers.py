"""Small building blocks that several chapters use: the residual connection and a
parameter count.

>>> count_parameters(Residual(nn.Linear(4, 4)))
20
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["Residual", "count_parameters"]


class Residual(nn.Module):
    """The residual connection around any block: ``x + f(x)``. The output is the SUM of the
    input and the branch (DenseNet concatenates; ResNet adds), so ``f`` must keep the shape.
    One such block is one explicit Euler step of dx/dt = f(x) with step 1.

    >>> Residual(nn.Linear(4, 4))(torch.zeros(2, 4)).shape
    torch.Size([2, 4])
    """

    def __init__(self, f: nn.Module) -> None:
        super().__init__()
        self.f = f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.f(x)
        if out.shape != x.shape:
            raise ValueError(f"a residual branch must keep the shape: input {tuple(x.shape)}, branch output "
                             f"{tuple(out.shape)}; use a projection shortcut (as BasicBlock does) to change it")
        return x + out


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (buffers such as batch norm's running mean are not parameters).

    >>> count_parameters(nn.Linear(3, 2))   # 3*2 weights + 2 biases
    8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
