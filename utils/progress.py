"""A text progress bar that reads the same in Jupyter, in Colab and on the book's website.

>>> total = sum(x for x in progress(range(3), desc="steps", disable=True))
"""
from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from tqdm.std import tqdm


class _LastLineOnly(io.TextIOBase):
    """A stream that forwards only the last state of each line (what follows the last ``\\r``)."""

    def __init__(self, target: TextIO) -> None:
        self.target, self.pending = target, ""

    def write(self, text: str) -> int:
        for piece in re.split(r"(\n)", text):
            if piece == "\n":
                self.target.write(self.pending + "\n")
                self.pending = ""
            elif piece:
                self.pending = piece.rsplit("\r", 1)[-1] if "\r" in piece else self.pending + piece
        return len(text)

    def flush(self) -> None:
        self.target.flush()


def progress(iterable: Iterable, **kwargs: Any) -> tqdm:
    """A tqdm progress bar drawn as plain text, so it reads the same in Jupyter, in Colab
    and on the book's website (a widget bar would need JavaScript from the network).

    With the environment variable ``BOOK_PROGRESS=last`` (set when the book is built),
    each bar prints only its final state, since a web page cannot redraw a line.

    >>> for epoch in progress(range(3), desc="epochs", disable=True):
    ...     pass
    """
    out = kwargs.pop("file", sys.stdout)
    if os.environ.get("BOOK_PROGRESS", "") == "last":
        out = _LastLineOnly(out)
    kwargs.setdefault("ncols", 88)  # the width of a code line on the website
    kwargs.setdefault("ascii", " =")
    kwargs.setdefault("mininterval", 0.5)
    return tqdm(iterable, file=out, **kwargs)
