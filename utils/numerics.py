"""Small numerical helpers the chapters share.

>>> round(loglog_slope([1, 2, 4], [1, 4, 16]), 6)   # y = x**2
2.0
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def loglog_slope(x: Sequence[float] | np.ndarray | torch.Tensor,
                 y: Sequence[float] | np.ndarray | torch.Tensor) -> float:
    """Slope of the least-squares line through ``(log x, log y)``: the exponent ``p`` of a
    power law ``y ≈ c·x**p`` (an ODE solver's order from errors against step sizes, how a
    cost grows with size).

    >>> round(loglog_slope([0.1, 0.05, 0.025], [1e-2, 2.5e-3, 6.25e-4]), 6)
    2.0
    """
    xs = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
    ys = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y, dtype=np.float64)
    if xs.ndim != 1 or xs.shape != ys.shape:
        raise ValueError(f"x and y must be 1-D and of equal length, got shapes "
                         f"{xs.shape} and {ys.shape}")
    if len(xs) < 2:
        raise ValueError("a slope needs at least two points")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))
            and np.all(xs > 0) and np.all(ys > 0)):
        raise ValueError("a log-log slope needs finite, positive x and y (drop zeros and NaNs)")
    if np.ptp(np.log(xs)) == 0:
        raise ValueError("the x values are all equal; a slope needs at least two distinct x")
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])
