"""Measuring how long code takes, fairly on CPU and GPU alike.

>>> seconds = measure(torch.matmul, a, b)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch.utils import benchmark


def measure(fn: Callable[..., Any], *args: Any, min_run_time: float = 0.2, **kwargs: Any) -> float:
    """Median seconds per call of ``fn(*args, **kwargs)``.

    Uses ``torch.utils.benchmark.Timer``, which warms up, repeats the call until
    ``min_run_time`` seconds have passed and waits for the GPU to finish (CUDA runs
    asynchronously, so a plain ``time.time()`` would measure only the launch).

    >>> measure(torch.matmul, torch.ones(64, 64), torch.ones(64, 64)) < 1
    True
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if min_run_time <= 0:
        raise ValueError(f"min_run_time must be positive, got {min_run_time}")
    timer = benchmark.Timer(stmt="fn(*args, **kwargs)", globals={"fn": fn, "args": args, "kwargs": kwargs})
    return float(timer.blocked_autorange(min_run_time=min_run_time).median)
