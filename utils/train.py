"""The training and evaluation loops every chapter shares, with a text progress bar.

>>> from torch.utils.data import DataLoader, TensorDataset
>>> data = DataLoader(TensorDataset(torch.randn(32, 3), torch.randint(0, 2, (32,))), batch_size=8)
>>> model = nn.Linear(3, 2)
>>> history = fit(model, data, loss_fn=nn.CrossEntropyLoss(), epochs=2, progress_bar=False,
...               optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
>>> len(history["train_loss"])
2
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from .checks import whole_number
from .progress import progress

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
SchedulerStep = ("epoch", "batch")


def _check_loader(loader: Any, name: str) -> None:
    if not isinstance(loader, DataLoader):
        raise TypeError(
            f"{name} must be a torch.utils.data.DataLoader, got {type(loader).__name__}; "
            f"wrap the data set: DataLoader(dataset, batch_size=64)"
        )


def _accuracy_count(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
    """Correct predictions in a batch of class logits (a tensor on the batch's device, so
    nothing waits for the GPU), or None where accuracy has no meaning."""
    if target.dtype in (torch.int64, torch.int32) and output.ndim == 2 and output.shape[1] > 1:
        return (output.argmax(dim=1) == target).sum()
    return None


def _model_device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    """``device`` if given, else the device of the model's first parameter or buffer (CPU for
    a model that has neither), so data follow the model wherever it was put."""
    if device is not None:
        return torch.device(device)
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: LossFn | None = None,
    device: torch.device | str | None = None,
) -> dict[str, float | None]:
    """Mean loss and accuracy of ``model`` over ``loader``, in eval mode, without gradients.

    ``accuracy`` is None unless the targets are class indices and the model outputs logits
    shaped ``(N, classes)``; ``loss`` is None without a ``loss_fn``. Batches go to ``device``
    (default: the device of the model's parameters). The model's train/eval mode is
    restored afterwards.

    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> loader = DataLoader(TensorDataset(x, torch.tensor([0, 1])), batch_size=2)
    >>> evaluate(nn.Identity(), loader)["accuracy"]
    1.0
    """
    _check_loader(loader, "loader")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    device = _model_device(model, device)
    was_training = model.training
    model.eval()
    total_loss = torch.zeros((), device=device, dtype=torch.float64)
    correct, seen, has_accuracy = torch.zeros((), device=device, dtype=torch.int64), 0, True
    try:
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            if loss_fn is not None:
                total_loss += loss_fn(out, y).detach().double() * len(x)
            count = _accuracy_count(out, y)
            has_accuracy = has_accuracy and count is not None
            if count is not None:
                correct += count
            seen += len(x)
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("the loader yielded no batches; is the data set empty?")
    return {
        "loss": float(total_loss) / seen if loss_fn is not None else None,
        "accuracy": int(correct) / seen if has_accuracy else None,
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
    scheduler: Any | None = None,
    scheduler_step: str = "epoch",
    frozen: nn.Module | Iterable[nn.Module] = (),
) -> dict[str, list[float]]:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; return the history.

    The history holds per-epoch ``train_loss``; with a ``val_loader``, ``val_loss`` and (for
    classification) ``val_accuracy``; with a ``scheduler``, ``lr`` (the first parameter
    group's rate at the start of each epoch).

    - ``scheduler``: a ``torch.optim.lr_scheduler`` object, stepped after every optimizer
      step with ``scheduler_step="batch"`` (``OneCycleLR``, warm-up) or after every epoch
      with ``scheduler_step="epoch"`` (``StepLR``, ``CosineAnnealingLR`` counted in epochs).
      ``ReduceLROnPlateau`` is stepped per epoch with the validation loss.
    - ``frozen``: modules kept in ``eval()`` mode while the rest trains (a frozen body's
      batch norm then keeps its running statistics and dropout stays off). Freezing the
      weights themselves is ``requires_grad_(False)``, which is the caller's choice.
    - ``restore_best=True`` loads back the weights of the epoch with the lowest validation
      loss when training ends (early stopping's checkpoint).
    - Batches go to ``device`` (default: the device of the model's parameters).
    - ``desc`` labels the progress bar, so a page that trains several models tells them apart.

    The loss is summed on the device and read once per epoch, so a GPU is not made to wait
    after every batch.

    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> x = torch.randn(64, 1); data = DataLoader(TensorDataset(x, 3 * x), batch_size=16)
    >>> model = nn.Linear(1, 1); opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    >>> h = fit(model, data, loss_fn=nn.MSELoss(), optimizer=opt, epochs=3,
    ...         scheduler=sched, progress_bar=False)
    >>> h["lr"]
    [0.1, 0.05, 0.025]
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    _check_loader(train_loader, "train_loader")
    if val_loader is not None:
        _check_loader(val_loader, "val_loader")
    epochs = whole_number(epochs, "epochs", minimum=1, hint="such as 5")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}; "
            "e.g. torch.optim.SGD(model.parameters(), lr=0.1)"
        )
    if restore_best and val_loader is None:
        raise ValueError("restore_best=True needs a val_loader to tell which epoch was best")
    if not isinstance(scheduler_step, str) or scheduler_step.lower() not in SchedulerStep:
        raise ValueError(f"scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}")
    scheduler_step = scheduler_step.lower()
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    if scheduler is not None:
        if not hasattr(scheduler, "step"):
            raise TypeError(f"scheduler must be a torch.optim.lr_scheduler object, "
                            f"got {type(scheduler).__name__}")
        if getattr(scheduler, "optimizer", optimizer) is not optimizer:
            raise ValueError("the scheduler was made for another optimizer; build it from the "
                             "optimizer you pass to fit")
        if plateau and (val_loader is None or scheduler_step == "batch"):
            raise ValueError("ReduceLROnPlateau is stepped once per epoch with the validation "
                             "loss: pass a val_loader and scheduler_step='epoch'")
    frozen = [frozen] if isinstance(frozen, nn.Module) else list(frozen)
    if not all(isinstance(m, nn.Module) for m in frozen):
        raise TypeError("frozen must be a module or a list of modules (parts of the model)")
    inside = {id(m) for m in model.modules()}
    if any(id(m) not in inside for m in frozen):
        raise ValueError("every module in frozen must be part of the model being trained")
    device = _model_device(model, device)
    history: dict[str, list[float]] = {"train_loss": []}
    best_loss, best_state = float("inf"), None
    # No rate column: the losses need the room within the page's 88 characters.
    bar = progress(range(epochs), desc=desc, disable=not progress_bar,
                   bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")
    for _ in bar:
        model.train()
        for part in frozen:
            part.eval()
        if scheduler is not None:
            history.setdefault("lr", []).append(float(optimizer.param_groups[0]["lr"]))
        total, seen = torch.zeros((), device=device, dtype=torch.float64), 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            if scheduler is not None and scheduler_step == "batch":
                scheduler.step()
            total += loss.detach().double() * len(x)
            seen += len(x)
        if seen == 0:
            raise ValueError("train_loader yielded no batches; is the data set empty (or "
                             "smaller than the batch size with drop_last=True)?")
        train_loss = float(total) / seen
        history["train_loss"].append(train_loss)
        postfix = {"loss": f"{train_loss:.3g}"}
        if val_loader is not None:
            scores = evaluate(model, val_loader, loss_fn, device)
            history.setdefault("val_loss", []).append(scores["loss"])
            postfix["val"] = f"{scores['loss']:.3g}"
            if scores["accuracy"] is not None:
                history.setdefault("val_accuracy", []).append(scores["accuracy"])
                postfix["acc"] = f"{scores['accuracy']:.3f}"
            if restore_best and scores["loss"] < best_loss:
                best_loss, best_state = scores["loss"], copy.deepcopy(model.state_dict())
        if scheduler is not None and scheduler_step == "epoch":
            scheduler.step(history["val_loss"][-1]) if plateau else scheduler.step()
        bar.set_postfix(postfix, refresh=False)
    bar.close()
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    return history
