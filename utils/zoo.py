"""The CNN zoo: classic image classifiers written from scratch, short enough to read.

Every builder takes ``num_classes`` and ``in_channels`` and two knobs for training on a
CPU: ``width`` multiplies every channel count (and hidden layer size), and ``small=True``
swaps the stem for one that suits tiny inputs (8x8 to 32x32 digits): a 3x3 stride-1
convolution and no early downsampling. With the defaults each builder has exactly the
parameter count of its reference implementation.

>>> model = lenet5(num_classes=10, in_channels=1, small=True)   # takes 8x8 digits
"""
from __future__ import annotations

import torch
from torch import nn


def _ch(channels: int, width: float) -> int:
    """``channels`` scaled by the width multiplier, at least 1."""
    return max(1, int(round(channels * width)))


def _check(num_classes: int, in_channels: int, width: float) -> None:
    """Fail early, with a message a learner can act on, for impossible arguments."""
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int (e.g. 10 for digits), got {num_classes!r}")
    if not isinstance(in_channels, int) or in_channels < 1:
        raise ValueError(f"in_channels must be a positive int (1 for grey, 3 for RGB), got {in_channels!r}")
    if not width > 0:
        raise ValueError(f"width is a channel multiplier and must be positive (e.g. 0.25), got {width!r}")


# --------------------------------------------------------------------------- LeNet-5 (1998)
def lenet5(num_classes: int = 10, in_channels: int = 1, *, width: float = 1.0, small: bool = False) -> nn.Sequential:
    """LeNet-5 (LeCun et al., 1998) in its common modern reading: two 5x5 convolutions with
    ReLU and 2x2 max-pooling, then 120-84-``num_classes`` fully connected layers. It takes
    32x32 images (61,706 parameters with the defaults). ``small=True`` takes 8x8 images
    (scikit-learn's digits): 3x3 convolutions with padding, so 8 -> 4 -> 2 after pooling.

    >>> lenet5(num_classes=10, in_channels=1, small=True)(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """
    _check(num_classes, in_channels, width)
    c1, c2, f1, f2 = _ch(6, width), _ch(16, width), _ch(120, width), _ch(84, width)
    kernel, padding, side = (3, 1, 2) if small else (5, 0, 5)  # side: map size before flattening
    return nn.Sequential(
        nn.Conv2d(in_channels, c1, kernel, padding=padding), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, kernel, padding=padding), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(c2 * side * side, f1), nn.ReLU(),
        nn.Linear(f1, f2), nn.ReLU(),
        nn.Linear(f2, num_classes),
    )
