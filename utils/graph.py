"""Drawing the autograd graph with torchviz, with a clear message when Graphviz is missing.

>>> x = torch.ones(2, requires_grad=True)
>>> dot = draw_graph((3 * x).sum(), params={"x": x})   # Jupyter shows it as an SVG image
>>> "MulBackward0" in dot.source
True
"""
from __future__ import annotations

import shutil

import torch

INSTALL_HINT = (
    "Graphviz's `dot` program is needed to draw graphs but is not installed. Install it with "
    "`sudo apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
    "`conda install graphviz`, then restart the kernel. Colab has it already."
)


def graphviz_available() -> bool:
    """True when Graphviz's ``dot`` program is on the PATH.

    >>> isinstance(graphviz_available(), bool)
    True
    """
    return shutil.which("dot") is not None


def draw_graph(output: torch.Tensor, params: dict[str, torch.Tensor] | None = None, *,
               show_attrs: bool = False, show_saved: bool = False):
    """Return the autograd graph that produced ``output`` as a ``graphviz.Digraph``.

    Jupyter shows the result as an SVG image. ``params`` names the leaf tensors (for a
    model: ``dict(model.named_parameters())``).

    >>> x = torch.ones(2, requires_grad=True)
    >>> draw_graph((x * 3).sum(), {"x": x}).format
    'svg'
    """
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"output must be a tensor, got {type(output).__name__}")
    if output.grad_fn is None:
        raise ValueError(
            "output has no autograd graph (grad_fn is None): compute it from tensors with "
            "requires_grad=True, outside torch.no_grad()"
        )
    if not graphviz_available():
        raise RuntimeError(INSTALL_HINT)
    from torchviz import make_dot

    dot = make_dot(output, params=params, show_attrs=show_attrs, show_saved=show_saved)
    dot.graph_attr.update(rankdir="TB")
    dot.format = "svg"
    return dot
