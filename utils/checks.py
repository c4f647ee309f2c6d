"""Argument checks every module shares, so a wrong argument reads the same everywhere.

>>> whole_number(3, "epochs", minimum=1)
3
"""
from __future__ import annotations

import numbers
from typing import Any


def whole_number(value: Any, name: str, *, minimum: int = 0, hint: str = "") -> int:
    """``value`` as an ``int``: any integer type (NumPy's too) but ``bool``.

    A value of another type raises ``TypeError``, one below ``minimum`` ``ValueError``;
    both name the argument and, with ``hint``, say what a good value looks like.

    >>> whole_number(True, "epochs")
    Traceback (most recent call last):
    TypeError: epochs must be a whole number, got True
    """
    extra = f" ({hint})" if hint else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number{extra}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}{extra}, got {value!r}")
    return int(value)
