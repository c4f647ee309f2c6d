"""Data sets of the book: the offline default (scikit-learn's digits) and, for readers
with a network, MNIST, FashionMNIST and CIFAR-10 through torchvision.

>>> train, test = load_digits(seed=0)
>>> x, y = train[0]; x.shape, y.dtype
(torch.Size([1, 8, 8]), torch.int64)
"""
from __future__ import annotations

import numbers
import socket
import urllib.error
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from .checks import whole_number

DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10")
_TORCHVISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10"}


def _check_fraction(test_fraction: float) -> None:
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"test_fraction must be a number such as 0.25, got {test_fraction!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")


def load_digits(*, seed: int = 0, test_fraction: float = 0.25) -> tuple[TensorDataset, TensorDataset]:
    """The 1797 real 8x8 handwritten digits that ship with scikit-learn, split for training.

    Images are float32 ``(N, 1, 8, 8)`` scaled to [0, 1]; labels are int64 in 0..9. The
    split is stratified and seeded: the same seed always gives the same split.

    >>> train, test = load_digits(seed=0, test_fraction=0.25); len(train), len(test)
    (1347, 450)
    """
    from sklearn.datasets import load_digits as _sk_digits
    from sklearn.model_selection import train_test_split

    _check_fraction(test_fraction)
    seed = whole_number(seed, "seed", hint="such as 0")
    bunch = _sk_digits()
    images = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    labels = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    return (
        TensorDataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr)),
        TensorDataset(torch.from_numpy(x_te), torch.from_numpy(y_te)),
    )


def load_dataset(
    name: str,
    *,
    root: str | Path = "data",
    download: bool = False,
    seed: int = 0,
    test_fraction: float = 0.25,
) -> tuple[Dataset, Dataset]:
    """Return ``(train, test)`` for a named data set; ``"digits"`` needs no network.

    ``"mnist"``, ``"fashion_mnist"`` and ``"cifar10"`` come through torchvision as tensors
    in [0, 1] shaped ``(C, H, W)``. They are read from ``root``; ``download=True`` fetches
    them first (this needs a network, as in Colab). ``seed`` and ``test_fraction`` apply
    to ``"digits"`` only: the others have a fixed official test split.

    >>> train, test = load_dataset("Digits"); len(train) + len(test)
    1797
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string such as 'digits', got {name!r}")
    key = name.strip().lower().replace("-", "_")
    if key == "fashionmnist":
        key = "fashion_mnist"
    if key not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    if key == "digits":
        return load_digits(seed=seed, test_fraction=test_fraction)

    import torchvision
    from torchvision.transforms import v2

    cls = getattr(torchvision.datasets, _TORCHVISION[key])
    transform = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    root = Path(root)
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10)
    try:
        return (
            cls(root, train=True, download=download, transform=transform),
            cls(root, train=False, download=download, transform=transform),
        )
    except (RuntimeError, urllib.error.URLError, OSError) as err:
        text = str(err).lower()
        if download and not isinstance(err, FileNotFoundError):
            raise ConnectionError(
                f"could not download {name!r}: the network is unreachable "
                f"({str(err).splitlines()[-1].strip()}). Use load_dataset('digits'), which needs "
                f"no network, or copy the files under {root.resolve()} and call again with "
                "download=False"
            ) from None
        if "not found" in text or "corrupted" in text:
            raise FileNotFoundError(
                f"{name!r} is not under {root.resolve()}; pass download=True where there is a "
                "network (Colab, a laptop), or use load_dataset('digits'), which ships with "
                "scikit-learn and needs no download"
            ) from None
        raise
    finally:
        socket.setdefaulttimeout(previous_timeout)
