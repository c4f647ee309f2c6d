"""Measuring how long code takes, fairly on CPU and GPU alike.

>>> seconds = measure(torch.matmul, torch.ones(8, 8), torch.ones(8, 8), min_run_time=0.01)
"""
from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch  # noqa: F401 (the docstring example uses it)
from torch.utils import benchmark

from .checks import whole_number


def measure(fn: Callable[..., Any], *args: Any, min_run_time: float = 0.2,
            num_threads: int = 1, **kwargs: Any) -> float:
    """Median seconds per call of ``fn(*args, **kwargs)``.

    Uses ``torch.utils.benchmark.Timer``: it warms up, then ``blocked_autorange`` runs the
    call in blocks until ``min_run_time`` seconds have passed, and it waits for the GPU to
    finish (CUDA runs asynchronously, so a plain ``time.time()`` would measure only the
    launch). Like the Timer, it runs the call on ``num_threads`` CPU threads (default 1:
    the number then does not depend on how many cores the machine has, and is below what
    all of them reach); pass ``torch.get_num_threads()`` to use them all.

    >>> measure(torch.matmul, torch.ones(64, 64), torch.ones(64, 64), min_run_time=0.01) < 1
    True
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if isinstance(min_run_time, bool) or not isinstance(min_run_time, numbers.Real):
        raise TypeError(f"min_run_time must be a number of seconds, got {min_run_time!r}")
    if not min_run_time > 0:
        raise ValueError(f"min_run_time must be positive, got {min_run_time}")
    num_threads = whole_number(num_threads, "num_threads", minimum=1)
    timer = benchmark.Timer(stmt="fn(*args, **kwargs)", num_threads=num_threads,
                            globals={"fn": fn, "args": args, "kwargs": kwargs})
    return float(timer.blocked_autorange(min_run_time=float(min_run_time)).median)
