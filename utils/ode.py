"""Fixed-step ODE solvers (Euler, midpoint, RK4), short enough to read, differentiable by
backpropagation.

Same calling convention as ``torchdiffeq.odeint``: ``func(t, y)`` returns dy/dt shaped like
``y`` and the result stacks the state at every time in ``t``.

>>> ys = odeint(lambda t, y: -y, torch.tensor([1.0]), [0.0, 1.0], step_size=0.1)
>>> tuple(ys.shape)   # y at t = 0 and at t = 1
(2, 1)
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import torch

__all__ = ["STEPS", "euler_step", "midpoint_step", "odeint", "rk4_step"]

Func = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def euler_step(func: Func, t: torch.Tensor, y: torch.Tensor, h: float) -> torch.Tensor:
    """Increment of one explicit Euler step (order 1): ``h f(t, y)``. A residual block is
    this step with h = 1.

    >>> euler_step(lambda t, y: -y, torch.tensor(0.0), torch.tensor([1.0]), 0.1)
    tensor([-0.1000])
    """
    return h * func(t, y)


def midpoint_step(func: Func, t: torch.Tensor, y: torch.Tensor, h: float) -> torch.Tensor:
    """Increment of one explicit midpoint step (order 2): slope taken half a step ahead.

    >>> midpoint_step(lambda t, y: -y, torch.tensor(0.0), torch.tensor([1.0]), 0.1)
    tensor([-0.0950])
    """
    k1 = func(t, y)
    return h * func(t + h / 2, y + h / 2 * k1)


def rk4_step(func: Func, t: torch.Tensor, y: torch.Tensor, h: float) -> torch.Tensor:
    """Increment of one classical Runge-Kutta step (order 4): four slopes, weighted
    1, 2, 2, 1.

    >>> rk4_step(lambda t, y: -y, torch.tensor(0.0), torch.tensor([1.0]), 0.1)
    tensor([-0.0952])
    """
    k1 = func(t, y)
    k2 = func(t + h / 2, y + h / 2 * k1)
    k3 = func(t + h / 2, y + h / 2 * k2)
    k4 = func(t + h, y + h * k3)
    return h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


Step = Callable[[Func, torch.Tensor, torch.Tensor, float], torch.Tensor]
STEPS: dict[str, Step] = {
    "euler": euler_step,
    "midpoint": midpoint_step,
    "rk4": rk4_step,
}


def _checked(func: Func) -> Func:
    """Wrap ``func`` so that a dy/dt of the wrong shape fails at once, with a useful
    message."""

    def wrapped(t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        dy = func(t, y)
        if not isinstance(dy, torch.Tensor) or dy.shape != y.shape:
            got = tuple(dy.shape) if isinstance(dy, torch.Tensor) else type(dy).__name__
            raise ValueError(
                f"func(t, y) must return dy/dt shaped like y {tuple(y.shape)}, got {got}; "
                "check the last layer's output size"
            )
        return dy

    return wrapped


def _method(method: object) -> str:
    """The solver's name, case-insensitive ('RK4' is 'rk4')."""
    if not isinstance(method, str):
        raise TypeError(f"method must be a name such as 'rk4', got {method!r}")
    if method.lower() not in STEPS:
        raise ValueError(
            f"unknown method {method!r}; known: {', '.join(STEPS)} "
            "(for adaptive methods such as 'dopri5' use torchdiffeq.odeint)"
        )
    return method.lower()


def _step_size(step_size: object, method: str) -> float:
    """A finite, positive real number (an int such as 1 is fine; True is not)."""
    if step_size is None:
        raise ValueError(
            f"method {method!r} takes fixed steps: pass step_size=..., e.g. step_size=0.01 "
            "(smaller is more accurate and slower)"
        )
    if isinstance(step_size, torch.Tensor) and step_size.numel() == 1:
        step_size = step_size.item()
    if isinstance(step_size, bool) or not isinstance(step_size, numbers.Real):
        raise TypeError(f"step_size must be a number such as 0.01, got {step_size!r}")
    value = float(step_size)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"step_size must be positive and finite, got {step_size!r}")
    return value


def odeint(
    func: Func,
    y0: torch.Tensor,
    t: torch.Tensor | Sequence[float],
    *,
    method: str = "rk4",
    step_size: float | None = None,
) -> torch.Tensor:
    """Integrate dy/dt = func(t, y) from ``y(t[0]) = y0``; return y at every time of ``t``.

    The output has shape ``(len(t), *y0.shape)`` and ``out[0]`` is ``y0``. ``t`` must be
    strictly increasing and finite. ``method`` is 'euler', 'midpoint' or 'rk4' (any case).
    Each interval ``[t[i], t[i+1]]`` is cut into the fewest equal steps no longer than
    ``step_size`` (give or take float rounding), so every requested time is hit exactly
    (torchdiffeq instead lays one grid over ``[t[0], t[-1]]`` and interpolates). Gradients
    flow by ordinary backpropagation through every step, so memory grows with the number
    of steps.

    >>> y1 = odeint(lambda t, y: -y, torch.tensor([1.0]), [0.0, 1.0], step_size=0.01)[-1]
    >>> y1   # e^-1
    tensor([0.3679])
    >>> odeint(lambda t, y: -y, torch.tensor([1.0]), [0.0, 1.0], method="Euler",
    ...        step_size=1)[-1]   # one Euler step: 1 - 1
    tensor([0.])
    """
    method = _method(method)
    if not isinstance(y0, torch.Tensor):
        raise TypeError(
            f"y0 must be a torch.Tensor, got {type(y0).__name__}; wrap it: torch.tensor(...)"
        )
    if not y0.is_floating_point():
        raise TypeError(
            f"y0 must be a floating-point tensor, got {y0.dtype}; use e.g. y0.float()"
        )
    step_size = _step_size(step_size, method)
    t = torch.as_tensor(t, dtype=y0.dtype, device=y0.device)
    if t.ndim != 1 or len(t) < 2:
        raise ValueError(
            "t must be a 1-D tensor of at least two times (start, ..., end), "
            f"got shape {tuple(t.shape)}"
        )
    times = t.tolist()
    if not all(math.isfinite(v) for v in times):
        raise ValueError(f"t must hold finite times, got {times}")
    for i, (a, b) in enumerate(zip(times, times[1:])):
        if not b > a:
            raise ValueError(
                f"t must be strictly increasing, but t[{i + 1}]={b} follows t[{i}]={a}; "
                "sort the times (torch.sort) and drop duplicates"
            )
    step, f = STEPS[method], _checked(func)
    y, ys = y0, [y0]
    for i in range(len(times) - 1):
        span = times[i + 1] - times[i]
        n = max(1, math.ceil(span / step_size - 1e-3))  # no extra step for a rounding excess
        h = span / n
        for k in range(n):
            y = y + step(f, t[i] + k * h, y, h)
        ys.append(y)
    return torch.stack(ys)
