"""Tools built on PyTorch's hooks to see inside a model; each removes its hooks when done.

Every tool is a context manager: hooks exist only inside the ``with`` block and are removed
on the way out, also when the block raises.

>>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
>>> with ForwardRecorder(model) as rec:
...     _ = model(torch.ones(2, 4))
>>> [(r.name, r.kind, r.input_shapes, r.output_shapes) for r in rec.records]
[('0', 'Linear', [(2, 4)], [(2, 3)]), ('1', 'ReLU', [(2, 3)], [(2, 3)])]
>>> model._forward_hooks   # removed when the block ended
OrderedDict()
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

Shape = tuple[int, ...]

__all__ = [
    "DeviceCheck", "DeviceMismatchError", "FiniteCheck", "ForwardRecorder",
    "GradientRecorder", "LayerRecord", "NonFiniteError",
]


# --------------------------------------------------------------------------- shared plumbing
def _tensors(obj: Any) -> Iterator[torch.Tensor]:
    """The tensors in a hook's argument: a tensor, or a (nested) tuple, list or dict."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)


def _modules(model: nn.Module, leaves_only: bool) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` pairs to hook; the model itself is called ``(model)``."""
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"expected an nn.Module (the model to watch), got {type(model).__name__}"
        )
    pairs = [(name or "(model)", m) for name, m in model.named_modules()]
    if leaves_only:
        pairs = [(name, m) for name, m in pairs if not any(True for _ in m.children())]
    return pairs


class _Hooks:
    """Base of the tools: registers hooks on ``__enter__``, always removes them on exit."""

    def __init__(self) -> None:
        self._handles: list[RemovableHandle] = []
        self.active = False

    def _register(self) -> None:  # pragma: no cover - every tool overrides it
        raise NotImplementedError

    def __enter__(self) -> Any:
        if self.active:
            raise RuntimeError(
                f"this {type(self).__name__} is already in use; make a new one for a "
                "nested block"
            )
        self.active = True
        try:
            self._register()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove every hook this tool registered (``__exit__`` calls it)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self.active = False


# --------------------------------------------------------------------------- forward recorder
@dataclass
class LayerRecord:
    """One call of one module in a forward pass, as ``ForwardRecorder`` saw it.

    ``output_shapes`` is None if the module raised before returning. The statistics describe
    the first floating-point output tensor (None if there is none); ``zero_fraction`` is the
    share of exact zeros (dead ReLU units show up here).

    >>> LayerRecord("fc", "Linear", [(2, 4)]).output_shapes is None
    True
    """

    name: str
    kind: str
    input_shapes: list[Shape]
    output_shapes: list[Shape] | None = None
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    zero_fraction: float | None = None
    output: torch.Tensor | None = field(default=None, repr=False)


class ForwardRecorder(_Hooks):
    """Record every module's input and output shapes and activation statistics.

    A forward pre-hook writes a record when a module is entered (so a module that crashes
    still leaves its input shapes behind, as the last record) and a forward hook, registered
    with ``always_call=True``, completes it with the output. ``leaves_only=False`` also
    records containers such as ``nn.Sequential``. ``keep_outputs=True`` keeps a detached
    copy of each output (``record.output``).

    >>> model = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU())
    >>> with ForwardRecorder(model) as rec:
    ...     _ = model(torch.zeros(2, 1, 8, 8))
    >>> rec.record("0").output_shapes
    [(2, 6, 8, 8)]
    """

    def __init__(
        self, model: nn.Module, *, leaves_only: bool = True, keep_outputs: bool = False
    ) -> None:
        super().__init__()
        self._targets = _modules(model, leaves_only)
        self.keep_outputs = keep_outputs
        self.records: list[LayerRecord] = []
        self._open: dict[int, list[LayerRecord]] = {}

    def _register(self) -> None:
        self.records.clear()
        self._open.clear()
        for name, module in self._targets:
            self._handles.append(
                module.register_forward_pre_hook(self._pre(name), with_kwargs=True)
            )
            self._handles.append(
                module.register_forward_hook(self._post(), always_call=True)
            )

    def _pre(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
            shapes = [tuple(t.shape) for t in _tensors((args, kwargs))]
            record = LayerRecord(name, type(module).__name__, shapes)
            self.records.append(record)
            self._open.setdefault(id(module), []).append(record)
        return hook

    def _post(self) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple, output: Any) -> None:
            stack = self._open.get(id(module))
            if not stack:
                return
            record = stack.pop()
            outs = list(_tensors(output))
            if not outs and output is None:  # always_call: the module raised
                return
            record.output_shapes = [tuple(t.shape) for t in outs]
            first = next(
                (t for t in outs if t.is_floating_point() and t.numel() > 0), None
            )
            if first is not None:
                with torch.no_grad():
                    values = first.detach().float()
                    record.mean = float(values.mean())
                    record.min, record.max = float(values.min()), float(values.max())
                    record.std = float(values.std()) if values.numel() > 1 else 0.0
                    record.zero_fraction = float((values == 0).float().mean())
                if self.keep_outputs:
                    record.output = first.detach().clone()
        return hook

    def record(self, name: str) -> LayerRecord:
        """The last record of the module called ``name`` (as in ``model.named_modules()``).

        >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
        >>> with ForwardRecorder(model) as rec:
        ...     _ = model(torch.ones(5, 4))
        >>> rec.record("1").output_shapes
        [(5, 3)]
        """
        for record in reversed(self.records):
            if record.name == name:
                return record
        known = list(dict.fromkeys(r.name for r in self.records))
        raise KeyError(
            f"no module named {name!r} ran inside the block; recorded: "
            f"{', '.join(known) or 'nothing'}"
        )

    def table(self) -> str:
        """The records as a text table, one line per module call, in the order they ran.

        >>> model = nn.Sequential(nn.Flatten(), nn.ReLU())
        >>> with ForwardRecorder(model) as rec:
        ...     _ = model(torch.tensor([[[-1.0, 1.0], [2.0, 0.0]]]))
        >>> print(rec.table())
        layer  type     input  output   mean    std  zeros
        --------------------------------------------------
        0      Flatten  1x2x2  1x4     0.500  1.291    25%
        1      ReLU     1x4    1x4     0.750  0.957    50%
        """
        def shapes(values: list[Shape] | None) -> str:
            if values is None:
                return "(raised)"
            return ", ".join("x".join(map(str, s)) or "scalar" for s in values) or "-"

        def num(value: float | None, fmt: str) -> str:
            return "-" if value is None else format(value, fmt)

        def zeros(value: float | None) -> str:
            return "-" if value is None else f"{100 * value:.0f}%"

        rows = [("layer", "type", "input", "output", "mean", "std", "zeros")]
        rows += [(r.name, r.kind, shapes(r.input_shapes), shapes(r.output_shapes),
                  num(r.mean, ".3f"), num(r.std, ".3f"), zeros(r.zero_fraction))
                 for r in self.records]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) if i < 4 else cell.rjust(w)
                           for i, (cell, w) in enumerate(zip(row, widths)))
                 for row in rows]
        lines.insert(1, "-" * len(lines[0]))
        return "\n".join(line.rstrip() for line in lines)


# --------------------------------------------------------------------------- gradient recorder
class GradientRecorder(_Hooks):
    """Record gradient norms in each backward pass run inside the block.

    ``param_norms[name]``: norm of the gradient that the latest backward pass computed for
    each parameter (a hook on the parameter sees it before it is added to ``.grad``, so it
    is the gradient of this pass even when ``zero_grad`` was forgotten); ``param_history``
    keeps every pass. ``module_norms[name]``: norm of the gradient of the loss with respect
    to each module's output, from a hook on the output tensor (unlike
    ``register_full_backward_hook`` this also works when the next layer works in place).
    Both dicts follow the model's order; parameters without ``requires_grad`` are absent.

    >>> model = nn.Linear(2, 1)
    >>> _ = nn.init.ones_(model.weight), nn.init.zeros_(model.bias)
    >>> with GradientRecorder(model) as grads:
    ...     model(torch.ones(3, 2)).sum().backward()
    >>> round(grads.param_norms["weight"], 4)   # d(sum)/dw = (3, 3), norm 3 * sqrt(2)
    4.2426
    """

    def __init__(
        self, model: nn.Module, *, leaves_only: bool = True, norm_type: float = 2.0
    ) -> None:
        super().__init__()
        if not norm_type > 0:
            raise ValueError(
                "norm_type must be positive (2.0 for the Euclidean norm, inf for the "
                f"max), got {norm_type}"
            )
        self._targets = _modules(model, leaves_only)
        self._params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.norm_type = norm_type
        self._param_norms: dict[str, float] = {}
        self._module_norms: dict[str, float] = {}
        self.param_history: dict[str, list[float]] = {}

    def _norm(self, grad: torch.Tensor) -> float:
        return float(torch.linalg.vector_norm(grad.detach().float(), ord=self.norm_type))

    def _register(self) -> None:
        self._param_norms.clear()
        self._module_norms.clear()
        self.param_history.clear()
        for name, param in self._params:
            self._handles.append(param.register_hook(self._on_param(name)))
        for name, module in self._targets:
            self._handles.append(module.register_forward_hook(self._on_output(name)))

    def _on_param(self, name: str) -> Callable[[torch.Tensor], None]:
        def hook(grad: torch.Tensor) -> None:
            norm = self._norm(grad)
            self._param_norms[name] = norm
            self.param_history.setdefault(name, []).append(norm)
        return hook

    def _on_output(self, name: str) -> Callable[..., None]:
        def tensor_hook(grad: torch.Tensor) -> None:
            if self.active:  # the graph may outlive the block; record nothing after it
                self._module_norms[name] = self._norm(grad)

        def hook(module: nn.Module, args: tuple, output: Any) -> None:
            first = next((t for t in _tensors(output) if t.requires_grad), None)
            if first is not None:
                first.register_hook(tensor_hook)
        return hook

    @property
    def param_norms(self) -> dict[str, float]:
        """Each parameter's gradient norm in the latest backward pass, in model order."""
        order = [name for name, _ in self._params]
        return {name: self._param_norms[name] for name in order if name in self._param_norms}

    @property
    def module_norms(self) -> dict[str, float]:
        """Norm of the loss's gradient with respect to each module's output."""
        order = [name for name, _ in self._targets]
        return {n: self._module_norms[n] for n in order if n in self._module_norms}


# --------------------------------------------------------------------------- finite check
class NonFiniteError(RuntimeError):
    """Raised by ``FiniteCheck`` at the first module whose output holds NaN or inf.

    ``module_name`` names that module, as in ``model.named_modules()``.

    >>> NonFiniteError("module '3' produced 1 NaN", "3").module_name
    '3'
    """

    def __init__(self, message: str, module_name: str) -> None:
        super().__init__(message)
        self.module_name = module_name


def _count_bad(tensors: Iterable[torch.Tensor]) -> tuple[int, int]:
    nan = inf = 0
    for t in tensors:
        if t.is_floating_point() or t.is_complex():
            nan += int(torch.isnan(t).sum())
            inf += int(torch.isinf(t).sum())
    return nan, inf


class FiniteCheck(_Hooks):
    """Raise ``NonFiniteError`` at the first module whose output is not finite, naming it.

    Forward hooks on every module (containers too, so a NaN made by a functional call in a
    container's ``forward`` is still caught) check the outputs; pre-hooks check the inputs,
    so NaN coming in with the data is reported as such. Every check costs a pass over the
    tensor, so use it while debugging, not for every training step.

    >>> model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid())
    >>> _ = nn.init.constant_(model[0].weight, float("inf"))
    >>> with FiniteCheck(model):  # doctest: +ELLIPSIS
    ...     _ = model(torch.ones(1, 2))
    Traceback (most recent call last):
    ...
    utils.hooks.NonFiniteError: module '0' (Linear) produced 0 NaN and 2 inf values ...
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self._targets = _modules(model, leaves_only=False)

    def _register(self) -> None:
        for name, module in self._targets:
            self._handles.append(
                module.register_forward_pre_hook(self._on_input(name), with_kwargs=True)
            )
            self._handles.append(module.register_forward_hook(self._on_output(name)))

    @staticmethod
    def _describe(nan: int, inf: int) -> str:
        return f"{nan} NaN and {inf} inf value{'s' if nan + inf != 1 else ''}"

    def _on_input(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
            nan, inf = _count_bad(_tensors((args, kwargs)))
            if nan or inf:
                raise NonFiniteError(
                    f"the input of module {name!r} ({type(module).__name__}) already "
                    f"holds {self._describe(nan, inf)}; they come from before it: the "
                    "data itself, or an operation between modules in the parent's "
                    "forward. Check the data with torch.isfinite(x).all()", name)
        return hook

    def _on_output(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple, output: Any) -> None:
            outs = list(_tensors(output))
            nan, inf = _count_bad(outs)
            if nan or inf:
                shape = tuple(outs[0].shape) if outs else ()
                raise NonFiniteError(
                    f"module {name!r} ({type(module).__name__}) produced "
                    f"{self._describe(nan, inf)} in its output of shape {shape} from "
                    "finite inputs: look for log or sqrt of 0 or of negatives, division "
                    "by zero, exp of large values, or a learning rate that is too high",
                    name)
        return hook


# --------------------------------------------------------------------------- device check
class DeviceMismatchError(RuntimeError):
    """Raised by ``DeviceCheck`` when a module gets an input on another device than its
    weights; ``module_name`` names the module.

    >>> DeviceMismatchError("module '0' holds its weights on cpu", "0").module_name
    '0'
    """

    def __init__(self, message: str, module_name: str) -> None:
        super().__init__(message)
        self.module_name = module_name


class DeviceCheck(_Hooks):
    """Raise ``DeviceMismatchError`` before a module runs on inputs that live on another
    device than its own parameters and buffers, naming the module and both devices.

    (Every PyTorch has the ``meta`` device, so the example needs no GPU.)

    >>> model = nn.Sequential(nn.Linear(4, 2))
    >>> with DeviceCheck(model):  # doctest: +ELLIPSIS
    ...     _ = model(torch.zeros(3, 4, device="meta"))
    Traceback (most recent call last):
    ...
    utils.hooks.DeviceMismatchError: module '0' (Linear) holds its weights on cpu but got ...
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self._targets = [
            (name, m) for name, m in _modules(model, leaves_only=False)
            if any(True for _ in m.parameters(recurse=False))
            or any(True for _ in m.buffers(recurse=False))
        ]

    def _register(self) -> None:
        for name, module in self._targets:
            self._handles.append(
                module.register_forward_pre_hook(self._check(name), with_kwargs=True)
            )

    @staticmethod
    def _check(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
            own = {t.device for t in [*module.parameters(recurse=False),
                                      *module.buffers(recurse=False)]}
            for t in _tensors((args, kwargs)):
                if t.device not in own:
                    raise DeviceMismatchError(
                        f"module {name!r} ({type(module).__name__}) holds its weights on "
                        f"{', '.join(sorted(map(str, own)))} but got an input on "
                        f"{t.device}; move the input with x.to(device) (or the model "
                        "with model.to(device)) so both are on one device", name)
        return hook
