"""Shared code of the book: every chapter does ``import utils``.

The core (device choice and seeding, ``expect_error`` and the ``progress`` bar) is imported
at once; the topic modules (``utils.data``, ``utils.train``, ``utils.plot``, ``utils.graph``,
``utils.timing``, ``utils.layers``, ``utils.zoo``, ``utils.hooks``, ``utils.memory``,
``utils.ode``, ``utils.numerics``) load on first use, so ``utils.data.load_digits()`` works
right after ``import utils``. (``python -m utils.book`` keeps the notebooks in shape; it is a
maintenance command, not part of the lessons.)

>>> import utils
>>> device = utils.get_device()
"""
from __future__ import annotations

import importlib
import logging
from types import ModuleType

import torch

from .device import get_device, seed_everything
from .errors import expect_error
from .progress import progress

if not torch.cuda.is_available():
    # On a machine that has a CUDA compiler but no GPU, PyTorch logs "No CUDA runtime is
    # found, using CUDA_HOME=..." whenever torch.utils.benchmark or torch.compile load its C++
    # extension module. It says nothing about the lesson, so it is kept out of the pages.
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)

_SUBMODULES = ("data", "dist", "graph", "hooks", "layers", "memory", "numerics", "ode", "plot",
               "timing", "train", "zoo")

__all__ = ["expect_error", "get_device", "progress", "seed_everything", *_SUBMODULES]


def __getattr__(name: str) -> ModuleType:
    """Import a topic module the first time it is used (``utils.zoo`` and so on)."""
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'utils' has no attribute {name!r}; known: {', '.join(__all__)}")
