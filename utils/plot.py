"""Small plotting helpers the chapters share: learning curves and image grids.

>>> ax = plot_history({"train_loss": [0.9, 0.4], "val_loss": [1.0, 0.6]})
>>> fig = show_images(torch.rand(4, 8, 8), labels=["a", "b", "c", "d"], ncols=4)
"""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .checks import whole_number


def plot_history(
    history: dict[str, Sequence[float]],
    *,
    keys: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str = "Learning curves",
    log_y: bool = False,
) -> Axes:
    """Plot per-epoch curves from a ``utils.train.fit`` history (losses and accuracies).

    >>> ax = plot_history({"train_loss": [1.0, 0.5], "val_loss": [1.1, 0.7]})
    """
    keys = list(keys) if keys is not None else list(history)
    missing = [k for k in keys if k not in history]
    if missing or not keys:
        raise KeyError(f"history has no {missing or 'curves'}; it holds: {', '.join(history) or 'nothing'}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for key in keys:
        values = list(history[key])
        ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=key.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.set_ylabel("value")
    if log_y:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def show_images(
    images: torch.Tensor | np.ndarray,
    labels: Sequence | None = None,
    *,
    ncols: int = 8,
    title: str | None = None,
    cmap: str = "gray",
    size: float = 1.2,
    row_labels: Sequence[str] | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Figure:
    """Show a batch of images ``(N, H, W)``, ``(N, 1, H, W)`` or ``(N, 3, H, W)`` as a grid.

    ``labels`` titles each image; ``row_labels`` names each row of the grid (one label per
    row, written to its left), e.g. "input" and "reconstruction". Each image is scaled to
    its own range unless ``vmin``/``vmax`` fix one colour range for all (then a grey level
    means the same value in every image).

    >>> fig = show_images(torch.rand(16, 1, 8, 8), labels=range(16), ncols=8)
    >>> fig = show_images(torch.rand(8, 8, 8), ncols=4, row_labels=["real", "fake"])
    """
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if arr.ndim == 4 and arr.shape[1] in (1, 3):
        arr = arr[:, 0] if arr.shape[1] == 1 else arr.transpose(0, 2, 3, 1)
    elif arr.ndim != 3:
        raise ValueError(
            f"images must be shaped (N, H, W), (N, 1, H, W) or (N, 3, H, W); got {tuple(arr.shape)}"
        )
    n = len(arr)
    if n == 0:
        raise ValueError("no images to show")
    if labels is not None:
        labels = list(labels)
        if len(labels) != n:
            raise ValueError(f"got {n} images but {len(labels)} labels")
    if vmin is not None and vmax is not None and not vmin < vmax:
        raise ValueError(f"vmin must be below vmax, got vmin={vmin}, vmax={vmax}")
    ncols = min(whole_number(ncols, "ncols", minimum=1), n)
    nrows = -(-n // ncols)
    if row_labels is not None:
        row_labels = [str(r) for r in row_labels]
        if len(row_labels) != nrows:
            raise ValueError(f"{n} images in rows of {ncols} make {nrows} rows, but got "
                             f"{len(row_labels)} row labels")
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(arr[i], cmap=cmap if arr[i].ndim == 2 else None, vmin=vmin, vmax=vmax)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=9)
        if row_labels is not None and i % ncols == 0:
            ax.axis("on")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.set_ylabel(row_labels[i // ncols], rotation=0, ha="right", va="center",
                          fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
