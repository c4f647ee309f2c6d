"""Showing an expected error: the one way every chapter demonstrates a mistake.

>>> with expect_error(ZeroDivisionError, match="division"):
...     1 / 0
ZeroDivisionError: division by zero
"""
from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Caught:
    """What ``expect_error`` caught: ``error`` is the exception (None until the block ends)."""

    error: BaseException | None = None


@contextmanager
def expect_error(
    kind: type[BaseException] | tuple[type[BaseException], ...],
    match: str | None = None,
    *,
    width: int = 88,
) -> Iterator[Caught]:
    """Run a block that must raise ``kind``; print the error's class and message.

    The block failing the expected way is the lesson, so the error is printed (wrapped to
    ``width`` characters) and swallowed. If the block raises nothing, ``AssertionError``
    says so; an error of another class propagates unchanged; with ``match`` (a regular
    expression searched in the message) a different message raises ``AssertionError``.

    >>> with expect_error(ValueError) as caught:
    ...     int("eight")
    ValueError: invalid literal for int() with base 10: 'eight'
    >>> type(caught.error).__name__
    'ValueError'
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not kinds or not all(isinstance(k, type) and issubclass(k, BaseException) for k in kinds):
        raise TypeError(
            f"expect_error needs an exception class such as RuntimeError, got {kind!r}"
        )
    caught = Caught()
    try:
        yield caught
    except kinds as error:  # noqa: PERF203 - the expected path
        caught.error = error
        message = str(error).strip()
        if match is not None and re.search(match, message) is None:
            raise AssertionError(
                f"{type(error).__name__} was raised, but its message does not match "
                f"{match!r}: {message!r}"
            ) from error
        text = f"{type(error).__name__}: {message}" if message else type(error).__name__
        lines = text.splitlines() or [text]
        print("\n".join(textwrap.fill(line, width) if len(line) > width else line
                        for line in lines))
    else:
        names = " or ".join(k.__name__ for k in kinds)
        raise AssertionError(f"expected {names}, but the block ran without an error")
