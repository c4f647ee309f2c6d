"""Choosing the device and seeding every random number generator.

>>> device = get_device()          # cuda, else mps, else cpu; BOOK_DEVICE=cpu overrides
>>> seed_everything(0)
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch

from .checks import whole_number

_KNOWN = ("cpu", "cuda", "mps")


def get_device() -> torch.device:
    """Return the device every tensor and model of a chapter goes to.

    CUDA if available, else Apple's MPS, else the CPU. The environment variable
    ``BOOK_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``) overrides the choice.

    >>> get_device().type in ("cpu", "cuda", "mps")
    True
    """
    wanted = os.environ.get("BOOK_DEVICE", "").strip().lower()
    if wanted:
        kind, _, index = wanted.partition(":")
        if kind not in _KNOWN or (index and not index.isdigit()) or (index and kind == "cpu"):
            raise ValueError(
                f"BOOK_DEVICE={wanted!r} is not a device; use one of {', '.join(_KNOWN)} "
                "(for example BOOK_DEVICE=cpu, or BOOK_DEVICE=cuda:1 for a second GPU), or "
                "unset it to choose automatically"
            )
        if kind == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                "BOOK_DEVICE asks for CUDA but PyTorch sees no CUDA GPU here; "
                "unset BOOK_DEVICE or set BOOK_DEVICE=cpu"
            )
        if kind == "cuda" and index and int(index) >= torch.cuda.device_count():
            raise ValueError(
                f"BOOK_DEVICE={wanted!r} names GPU {index}, but this machine has "
                f"{torch.cuda.device_count()} (numbered from 0); use BOOK_DEVICE=cuda:0, or "
                "unset it to choose automatically"
            )
        if kind == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError(
                "BOOK_DEVICE asks for MPS but this machine has no Apple GPU; "
                "unset BOOK_DEVICE or set BOOK_DEVICE=cpu"
            )
        return torch.device(wanted)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and every CUDA device).

    >>> seed_everything(0); a = torch.rand(1); seed_everything(0); bool(a == torch.rand(1))
    True
    """
    seed = whole_number(seed, "seed", hint="such as 0")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
