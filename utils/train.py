"""The training and evaluation loops every chapter shares, with a text progress bar.

>>> history = fit(model, train_loader, loss_fn=nn.CrossEntropyLoss(),
...               optimizer=torch.optim.Adam(model.parameters()), epochs=5, val_loader=test_loader)
>>> evaluate(model, test_loader, nn.CrossEntropyLoss())["accuracy"]
"""
from __future__ import annotations

import copy
import io
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.std import tqdm

from .device import get_device

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


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

    >>> for epoch in progress(range(10), desc="epochs"): ...
    """
    out = kwargs.pop("file", sys.stdout)
    if os.environ.get("BOOK_PROGRESS", "") == "last":
        out = _LastLineOnly(out)
    kwargs.setdefault("ncols", 90)
    kwargs.setdefault("ascii", " =")
    kwargs.setdefault("mininterval", 0.5)
    return tqdm(iterable, file=out, **kwargs)


def _check_loader(loader: Any, name: str) -> None:
    if not isinstance(loader, DataLoader):
        raise TypeError(
            f"{name} must be a torch.utils.data.DataLoader, got {type(loader).__name__}; "
            f"wrap the data set: DataLoader(dataset, batch_size=64)"
        )


def _accuracy_count(output: torch.Tensor, target: torch.Tensor) -> int | None:
    """Correct predictions in a batch of class logits, or None where accuracy has no meaning."""
    if target.dtype in (torch.int64, torch.int32) and output.ndim == 2 and output.shape[1] > 1:
        return int((output.argmax(dim=1) == target).sum())
    return None


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: LossFn | None = None,
    device: torch.device | str | None = None,
) -> dict[str, float | None]:
    """Mean loss and accuracy of ``model`` over ``loader``, in eval mode, without gradients.

    ``accuracy`` is None unless the targets are class indices and the model outputs logits
    shaped ``(N, classes)``; ``loss`` is None without a ``loss_fn``. The model's train/eval
    mode is restored afterwards.

    >>> evaluate(model, test_loader, nn.CrossEntropyLoss())
    {'loss': 0.11, 'accuracy': 0.97}
    """
    _check_loader(loader, "loader")
    device = torch.device(device) if device is not None else get_device()
    was_training = model.training
    model.eval()
    total_loss, correct, seen, has_accuracy = 0.0, 0, 0, True
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        out = model(x)
        if loss_fn is not None:
            total_loss += float(loss_fn(out, y)) * len(x)
        count = _accuracy_count(out, y)
        has_accuracy = has_accuracy and count is not None
        correct += count or 0
        seen += len(x)
    model.train(was_training)
    if seen == 0:
        raise ValueError("the loader yielded no batches; is the data set empty?")
    return {
        "loss": total_loss / seen if loss_fn is not None else None,
        "accuracy": correct / seen if has_accuracy else None,
    }


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    *,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    val_loader: DataLoader | None = None,
    device: torch.device | str | None = None,
    progress_bar: bool = True,
    restore_best: bool = False,
    desc: str = "epochs",
) -> dict[str, list[float]]:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; return the history.

    The history holds per-epoch ``train_loss`` and, with a ``val_loader``, ``val_loss`` and
    (for classification) ``val_accuracy``. ``restore_best=True`` loads back the weights of
    the epoch with the lowest validation loss when training ends (early stopping's
    checkpoint). The model must already be on ``device`` (default: ``get_device()``).
    ``desc`` labels the progress bar, so a page that trains several models tells them apart.

    >>> h = fit(model, train_loader, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=3)
    >>> h["train_loss"]
    [1.9, 0.8, 0.5]
    """
    _check_loader(train_loader, "train_loader")
    if val_loader is not None:
        _check_loader(val_loader, "val_loader")
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if restore_best and val_loader is None:
        raise ValueError("restore_best=True needs a val_loader to tell which epoch was best")
    device = torch.device(device) if device is not None else get_device()
    history: dict[str, list[float]] = {"train_loss": []}
    best_loss, best_state = float("inf"), None
    bar = progress(range(epochs), desc=desc, disable=not progress_bar)
    for _ in bar:
        model.train()
        total, seen = 0.0, 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(x)
            seen += len(x)
        history["train_loss"].append(total / seen)
        postfix = {"train_loss": f"{total / seen:.4f}"}
        if val_loader is not None:
            scores = evaluate(model, val_loader, loss_fn, device)
            history.setdefault("val_loss", []).append(scores["loss"])
            postfix["val_loss"] = f"{scores['loss']:.4f}"
            if scores["accuracy"] is not None:
                history.setdefault("val_accuracy", []).append(scores["accuracy"])
                postfix["val_acc"] = f"{scores['accuracy']:.3f}"
            if restore_best and scores["loss"] < best_loss:
                best_loss, best_state = scores["loss"], copy.deepcopy(model.state_dict())
        bar.set_postfix(postfix, refresh=False)
    bar.close()
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    return history
