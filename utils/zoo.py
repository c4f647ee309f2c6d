"""The CNN zoo: classic image classifiers written from scratch, short enough to read.

Every builder returns a model with two named parts, ``features`` (the convolutional
body) and ``head`` (pooling and classifier), so that "freeze the features, retrain the
head" reads the same for every model. Every builder takes ``num_classes`` and
``in_channels`` and two knobs for training on a CPU: ``width`` multiplies every channel
count (and hidden layer size), and ``small=True`` swaps the stem for one that suits tiny
inputs (8x8 digits and up): a 3x3 stride-1 convolution and no early downsampling. With
the defaults each builder has exactly the parameter count of its reference
implementation (torchvision's, where it has one), and ``BUILDERS`` lists them all. Whole
numbers may be any integer type (NumPy's too); a wrong type raises ``TypeError``, an
impossible value ``ValueError``.

>>> model = lenet5(num_classes=10, in_channels=1, small=True)   # takes 8x8 digits
>>> model(torch.zeros(2, 1, 8, 8)).shape
torch.Size([2, 10])
>>> build("ResNet18", num_classes=10, in_channels=1, width=0.25, small=True).head[-1]
Linear(in_features=128, out_features=10, bias=True)
"""
from __future__ import annotations

import math
import numbers
from collections import OrderedDict, namedtuple
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .checks import whole_number

# --------------------------------------------------------------------------- arguments


def _whole(value: Any, name: str, example: str, minimum: int = 1) -> int:
    """``value`` as an int: any integer type but bool (TypeError), at least ``minimum``
    (ValueError)."""
    return whole_number(value, name, minimum=minimum, hint=example)


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _check(num_classes: Any, in_channels: Any, width: Any, small: Any = False
           ) -> tuple[int, int, float]:
    """Fail early, with a message a learner can act on, for impossible arguments; return
    them as plain Python numbers."""
    num_classes = _whole(num_classes, "num_classes", "e.g. 10 for digits")
    in_channels = _whole(in_channels, "in_channels", "1 for grey, 3 for RGB")
    if isinstance(width, bool) or not isinstance(width, numbers.Real):
        raise TypeError(f"width is a channel multiplier, a number such as 0.25; "
                        f"got {width!r}")
    if not (math.isfinite(width) and width > 0):
        raise ValueError(f"width is a channel multiplier and must be positive and "
                         f"finite (e.g. 0.25), got {width!r}")
    _flag(small, "small")
    return num_classes, in_channels, float(width)


def _ch(channels: int, width: float) -> int:
    """``channels`` scaled by the width multiplier, at least 1."""
    return max(1, int(round(channels * width)))


# ------------------------------------------------------------------------- model shape


def _init(model: nn.Module) -> nn.Module:
    """Convolutions get He-normal weights (fan-out, for ReLU) and zero biases, as in
    torchvision's ResNet and VGG: PyTorch's default (a uniform with a third of He's
    variance) lets the signal fade in deep plain stacks like VGG's. Linear layers keep
    PyTorch's default."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def _model(features: list[nn.Module] | OrderedDict, head: list[nn.Module]
           ) -> nn.Sequential:
    """Every zoo model: ``features`` (the body) then ``head`` (pooling and
    classifier)."""
    if isinstance(features, OrderedDict):
        body = nn.Sequential(features)
    else:
        body = nn.Sequential(*features)
    return _init(nn.Sequential(OrderedDict(features=body, head=nn.Sequential(*head))))


def _pool_head(channels: int, num_classes: int, dropout: float = 0.0
               ) -> list[nn.Module]:
    """Global average pooling and one linear layer: the head of every model since
    GoogLeNet."""
    drop = [nn.Dropout(dropout)] if dropout else []
    return [nn.AdaptiveAvgPool2d(1), nn.Flatten(), *drop,
            nn.Linear(channels, num_classes)]


def _mlp_head(channels: int, side: int, hidden: int, num_classes: int,
              dropout_first: bool) -> list[nn.Module]:
    """AlexNet's and VGG's head: pool to ``side`` x ``side``, two hidden layers, dropout
    before each of them (AlexNet) or after (VGG)."""
    fc1, fc2 = nn.Linear(channels * side * side, hidden), nn.Linear(hidden, hidden)
    if dropout_first:
        layers = [nn.Dropout(0.5), fc1, nn.ReLU(), nn.Dropout(0.5), fc2, nn.ReLU()]
    else:
        layers = [fc1, nn.ReLU(), nn.Dropout(0.5), fc2, nn.ReLU(), nn.Dropout(0.5)]
    return [nn.AdaptiveAvgPool2d(side), nn.Flatten(), *layers,
            nn.Linear(hidden, num_classes)]


# ----------------------------------------------------------------------- shared blocks


def conv_bn_act(c_in: int, c_out: int, kernel: int = 3, stride: int = 1,
                groups: int = 1, act: Callable[[], nn.Module] | None = nn.ReLU,
                eps: float = 1e-5) -> nn.Sequential:
    """Convolution ("same" padding, no bias: the batch norm has one), batch norm,
    activation (none with ``act=None``).

    >>> conv_bn_act(3, 16, kernel=3, stride=2)(torch.zeros(1, 3, 8, 8)).shape
    torch.Size([1, 16, 4, 4])
    """
    c_in = _whole(c_in, "c_in", "channels in")
    c_out = _whole(c_out, "c_out", "channels out")
    kernel = _whole(kernel, "kernel", "e.g. 3")
    stride = _whole(stride, "stride", "1 or 2")
    groups = _whole(groups, "groups", "1, or c_in for a depthwise convolution")
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
    layers = [nn.Conv2d(c_in, c_out, kernel, stride, padding=(kernel - 1) // 2,
                        groups=groups, bias=False),
              nn.BatchNorm2d(c_out, eps=eps)]
    return nn.Sequential(*layers, *([act()] if act is not None else []))


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Module:
    """Identity where shapes agree, else a strided 1x1 convolution with batch norm."""
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return conv_bn_act(c_in, c_out, 1, stride, act=None)


class BasicBlock(nn.Module):
    """ResNet-18/34's residual block: two 3x3 convolutions whose output is ADDED to the
    input, ``relu(F(x) + shortcut(x))``. The shortcut is the identity, or a strided 1x1
    convolution where the shape changes.

    >>> BasicBlock(16, 32, stride=2)(torch.zeros(1, 16, 8, 8)).shape
    torch.Size([1, 32, 4, 4])
    """

    expansion = 1

    def __init__(self, c_in: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn_act(c_in, channels, 3, stride),
                                  conv_bn_act(channels, channels, 3, act=None))
        self.shortcut = _shortcut(c_in, channels, stride)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class Bottleneck(BasicBlock):
    """ResNet-50/101/152's residual block: 1x1 reduce, 3x3 (strided), 1x1 expand by 4,
    added to the shortcut. The 3x3 works on 4x fewer channels: cheap spatial
    aggregation.

    >>> Bottleneck(64, 16)(torch.zeros(1, 64, 8, 8)).shape
    torch.Size([1, 64, 8, 8])
    """

    expansion = 4

    def __init__(self, c_in: int, channels: int, stride: int = 1) -> None:
        nn.Module.__init__(self)
        c_out = channels * self.expansion
        self.body = nn.Sequential(conv_bn_act(c_in, channels, 1),
                                  conv_bn_act(channels, channels, 3, stride),
                                  conv_bn_act(channels, c_out, 1, act=None))
        self.shortcut = _shortcut(c_in, c_out, stride)
        self.act = nn.ReLU()


class Inception(nn.Module):
    """GoogLeNet's module: four parallel branches concatenated along channels: a 1x1
    convolution; a 1x1 reduction then a 3x3; a 1x1 reduction then a "5x5"; a 3x3
    max-pool (stride 1) followed by a 1x1 projection. The 1x1 reductions shrink the
    channels before the expensive spatial filters; the pooling branch projects AFTER
    pooling. ``k5`` is the kernel of the "5x5" branch.

    >>> Inception(192, 64, 96, 128, 16, 32, 32)(torch.zeros(1, 192, 8, 8)).shape
    torch.Size([1, 256, 8, 8])
    """

    def __init__(self, c_in: int, c1: int, c3_reduce: int, c3: int, c5_reduce: int,
                 c5: int, c_pool: int, k5: int = 3) -> None:
        super().__init__()

        def block(a: int, b: int, k: int) -> nn.Sequential:
            return conv_bn_act(a, b, k, eps=1e-3)  # torchvision's eps

        self.branches = nn.ModuleList([
            block(c_in, c1, 1),
            nn.Sequential(block(c_in, c3_reduce, 1), block(c3_reduce, c3, 3)),
            nn.Sequential(block(c_in, c5_reduce, 1), block(c5_reduce, c5, k5)),
            nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                          block(c_in, c_pool, 1)),
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class DenseLayer(nn.Module):
    """DenseNet's layer: batch norm, ReLU, 1x1 (to 4k channels), batch norm, ReLU, 3x3
    (to k), and its k new channels are CONCATENATED to its input: ``cat([x, F(x)])``.

    >>> DenseLayer(64, growth=32)(torch.zeros(1, 64, 8, 8)).shape
    torch.Size([1, 96, 8, 8])
    """

    def __init__(self, c_in: int, growth: int, bottleneck: int = 4) -> None:
        super().__init__()
        c_in = _whole(c_in, "c_in", "channels in")
        growth = _whole(growth, "growth", "e.g. 32")
        hidden = _whole(bottleneck, "bottleneck", "e.g. 4") * growth
        self.body = nn.Sequential(
            nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU(),
            nn.Conv2d(hidden, growth, 3, padding=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], dim=1)


def dense_block(c_in: int, layers: int, growth: int) -> nn.Sequential:
    """``layers`` dense layers in a row; the channels grow from ``c_in`` to
    ``c_in + layers * growth``.

    >>> dense_block(16, layers=3, growth=8)(torch.zeros(1, 16, 4, 4)).shape
    torch.Size([1, 40, 4, 4])
    """
    c_in = _whole(c_in, "c_in", "channels in")
    growth = _whole(growth, "growth", "e.g. 32")
    layers = _whole(layers, "layers", "e.g. 6")
    return nn.Sequential(*[DenseLayer(c_in + i * growth, growth)
                           for i in range(layers)])


def separable_conv(c_in: int, c_out: int, kernel: int = 3, stride: int = 1
                   ) -> nn.Sequential:
    """Depthwise-separable convolution: a per-channel ``kernel`` x ``kernel``
    convolution (``groups=c_in``) then a 1x1 pointwise one mixing channels. Weights:
    ``c_in * k * k + c_in * c_out`` instead of ``c_in * c_out * k * k``.

    >>> separable_conv(32, 64)(torch.zeros(1, 32, 8, 8)).shape
    torch.Size([1, 64, 8, 8])
    """
    c_in = _whole(c_in, "c_in", "channels in")
    c_out = _whole(c_out, "c_out", "channels out")
    kernel = _whole(kernel, "kernel", "e.g. 3")
    stride = _whole(stride, "stride", "1 or 2")
    return nn.Sequential(
        nn.Conv2d(c_in, c_in, kernel, stride, padding=(kernel - 1) // 2, groups=c_in,
                  bias=False),
        nn.Conv2d(c_in, c_out, 1, bias=False),
    )


class XceptionBlock(nn.Module):
    """Xception's residual block: ``reps`` times (ReLU, separable conv, batch norm), an
    optional stride-2 max-pool, added to a shortcut (a strided 1x1 convolution where the
    shape changes).

    >>> XceptionBlock(64, 128, reps=2, stride=2)(torch.zeros(1, 64, 8, 8)).shape
    torch.Size([1, 128, 4, 4])
    """

    def __init__(self, c_in: int, c_out: int, reps: int, stride: int = 1,
                 first_relu: bool = True, grow_first: bool = True) -> None:
        super().__init__()
        reps = _whole(reps, "reps", "separable convolutions per block, e.g. 3")
        widths = [c_in] + [c_out if grow_first or i == reps - 1 else c_in
                           for i in range(reps)]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths, widths[1:])):
            layers += [nn.ReLU()] if (i > 0 or first_relu) else []
            layers += [separable_conv(a, b), nn.BatchNorm2d(b)]
        if stride != 1:
            layers.append(nn.MaxPool2d(3, stride, padding=1))
        self.body = nn.Sequential(*layers)
        self.shortcut = _shortcut(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expand (by ``expand``), 3x3 depthwise, 1x1 project with
    NO activation (a linear bottleneck); added to the input when the shapes agree.

    >>> InvertedResidual(16, 16, stride=1, expand=6)(torch.zeros(1, 16, 8, 8)).shape
    torch.Size([1, 16, 8, 8])
    """

    def __init__(self, c_in: int, c_out: int, stride: int, expand: int) -> None:
        super().__init__()
        c_in = _whole(c_in, "c_in", "channels in")
        expand = _whole(expand, "expand", "the expansion factor, e.g. 6")
        hidden = c_in * expand
        layers = [conv_bn_act(c_in, hidden, 1, act=nn.ReLU6)] if expand != 1 else []
        layers += [conv_bn_act(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
                   conv_bn_act(hidden, c_out, 1, act=None)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


# ---------------------------------------------------------------------- LeNet-5 (1998)


def lenet5(num_classes: int = 10, in_channels: int = 1, *, width: float = 1.0,
           small: bool = False) -> nn.Sequential:
    """LeNet-5 (LeCun et al., 1998) in its common modern reading: two 5x5 convolutions
    with ReLU and 2x2 max-pooling, then 120-84-``num_classes`` fully connected layers.
    It takes 32x32 images (61,706 parameters with the defaults). The paper's network
    differs: tanh units, trainable subsampling, a sparse C3 (1,516 parameters instead of
    2,416) and an RBF output layer (60,000 trainable parameters in all). ``small=True``
    takes 8x8 images (scikit-learn's digits): 3x3 convolutions with padding, so 8 -> 4
    -> 2 after pooling.

    >>> lenet5(num_classes=10, in_channels=1, small=True)(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """
    num_classes, in_channels, width = _check(num_classes, in_channels, width, small)
    c1, c2, f1, f2 = _ch(6, width), _ch(16, width), _ch(120, width), _ch(84, width)
    kernel, padding, side = (3, 1, 2) if small else (5, 0, 5)  # side: before flattening
    features = [nn.Conv2d(in_channels, c1, kernel, padding=padding), nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(c1, c2, kernel, padding=padding), nn.ReLU(), nn.MaxPool2d(2)]
    head = [nn.Flatten(), nn.Linear(c2 * side * side, f1), nn.ReLU(), nn.Linear(f1, f2),
            nn.ReLU(), nn.Linear(f2, num_classes)]
    return _model(features, head)


# ---------------------------------------------------------------------- AlexNet, ZFNet


def _alexnet_like(first: tuple[int, int, int], second: tuple[int, int],
                  channels: tuple[int, ...], ceil: bool, num_classes: int,
                  in_channels: int, width: float, small: bool) -> nn.Sequential:
    """Five convolutions (max-pooling after the 1st, 2nd and 5th) and a 4096-4096 head.
    ``first`` is (kernel, stride, padding) of the 11x11 or 7x7 first layer, ``second``
    (stride, padding) of the 5x5 second one; ``ceil`` rounds pooled sizes up."""
    num_classes, in_channels, width = _check(num_classes, in_channels, width, small)
    c = [_ch(ch, width) for ch in channels]
    (k, s, p), (s2, p2) = ((3, 1, 1), (1, 2)) if small else (first, second)

    def pool() -> nn.Module:
        if small:
            return nn.MaxPool2d(2, ceil_mode=True)
        return nn.MaxPool2d(3, 2, ceil_mode=ceil)

    features = [nn.Conv2d(in_channels, c[0], k, s, p), nn.ReLU(), pool(),
                nn.Conv2d(c[0], c[1], 5, s2, p2), nn.ReLU(), pool(),
                nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(),
                nn.Conv2d(c[2], c[3], 3, padding=1), nn.ReLU(),
                nn.Conv2d(c[3], c[4], 3, padding=1), nn.ReLU(), pool()]
    head = _mlp_head(c[4], 1 if small else 6, _ch(4096, width), num_classes,
                     dropout_first=True)
    return _model(features, head)


def alexnet(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
            small: bool = False) -> nn.Sequential:
    """AlexNet as in torchvision: the one-GPU variant of Krizhevsky (2014), "One weird
    trick", with 64-192-384-256-256 channels and no grouped convolutions. The 2012 paper
    split 96-256-384-384-256 channels over two GPUs (60,965,224 parameters; its first
    layer alone has 34,944). First layer 11x11, stride 4.

    >>> alexnet(num_classes=10, width=0.125, small=True)(torch.zeros(1, 3, 8, 8)).shape
    torch.Size([1, 10])
    """
    return _alexnet_like((11, 4, 2), (1, 2), (64, 192, 384, 256, 256), False,
                         num_classes, in_channels, width, small)


def zfnet(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
          small: bool = False) -> nn.Sequential:
    """ZFNet (Zeiler and Fergus, 2013): AlexNet with a 7x7, stride-2 first layer (finer
    first features, fewer dead filters), a stride-2 second layer, and 96-256-384-384-256
    channels. Maps of 224 -> 110 -> 55 -> 26 -> 13 -> 6 as in the paper's figure.

    >>> zfnet(num_classes=10, width=0.125, small=True)(torch.zeros(1, 3, 8, 8)).shape
    torch.Size([1, 10])
    """
    return _alexnet_like((7, 2, 1), (2, 0), (96, 256, 384, 384, 256), True,
                         num_classes, in_channels, width, small)


# -------------------------------------------------------------------------- VGG (2014)

VGG_STAGES = {"vgg11": (1, 1, 2, 2, 2), "vgg16": (2, 2, 3, 3, 3),
              "vgg19": (2, 2, 4, 4, 4)}


def _vgg(name: str, num_classes: int, in_channels: int, width: float, small: bool,
         pooled_head: bool) -> nn.Sequential:
    """Five stages of 3x3 convolutions (64, 128, 256, 512, 512 channels), each halved by
    max-pool; the paper's 4096-4096 head, or global average pooling and one linear layer
    with ``pooled_head=True``."""
    num_classes, in_channels, width = _check(num_classes, in_channels, width, small)
    _flag(pooled_head, "pooled_head")
    features: list[nn.Module] = []
    c_in = in_channels
    for convs, channels in zip(VGG_STAGES[name], (64, 128, 256, 512, 512)):
        for _ in range(convs):
            features += [nn.Conv2d(c_in, _ch(channels, width), 3, padding=1), nn.ReLU()]
            c_in = _ch(channels, width)
        features.append(nn.MaxPool2d(2, ceil_mode=small))  # small: a 1x1 map stays 1x1
    if pooled_head:
        return _model(features, _pool_head(c_in, num_classes))
    head = _mlp_head(c_in, 1 if small else 7, _ch(4096, width), num_classes,
                     dropout_first=False)
    return _model(features, head)


def vgg11(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
          small: bool = False, pooled_head: bool = False) -> nn.Sequential:
    """VGG-11 (Simonyan and Zisserman, 2014; configuration A): 8 convolutions, all 3x3.

    >>> vgg11(num_classes=10, in_channels=1, width=0.125, small=True)(
    ...     torch.zeros(1, 1, 8, 8)).shape
    torch.Size([1, 10])
    """
    return _vgg("vgg11", num_classes, in_channels, width, small, pooled_head)


def vgg16(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
          small: bool = False, pooled_head: bool = False) -> nn.Sequential:
    """VGG-16 (configuration D): 13 convolutions, all 3x3. ``pooled_head=True`` replaces
    the 4096-4096 head (89% of the parameters) by global average pooling and one linear
    layer, as every model from GoogLeNet on has.

    >>> vgg16(num_classes=10, width=0.125, small=True)(torch.zeros(1, 3, 8, 8)).shape
    torch.Size([1, 10])
    """
    return _vgg("vgg16", num_classes, in_channels, width, small, pooled_head)


def vgg19(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
          small: bool = False, pooled_head: bool = False) -> nn.Sequential:
    """VGG-19 (configuration E): 16 convolutions, all 3x3.

    >>> vgg19(num_classes=10, width=0.125, small=True)(torch.zeros(1, 3, 8, 8)).shape
    torch.Size([1, 10])
    """
    return _vgg("vgg19", num_classes, in_channels, width, small, pooled_head)


# -------------------------------------------------------------------- GoogLeNet (2014)

# (in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection) of the nine modules;
# "M": max-pool
GOOGLENET_MODULES = [
    (192, 64, 96, 128, 16, 32, 32), (256, 128, 128, 192, 32, 96, 64), "M",
    (480, 192, 96, 208, 16, 48, 64), (512, 160, 112, 224, 24, 64, 64),
    (512, 128, 128, 256, 24, 64, 64), (512, 112, 144, 288, 32, 64, 64),
    (528, 256, 160, 320, 32, 128, 128), "M",
    (832, 256, 160, 320, 32, 128, 128), (832, 384, 192, 384, 48, 128, 128),
]
# The auxiliary classifiers sit on the outputs of modules 4a and 4d (entries 3 and 6).
GOOGLENET_AUX_AFTER = (3, 6)

AuxOutputs = namedtuple("AuxOutputs", ["logits", "aux1", "aux2"], defaults=(None, None))


def inception_aux(c_in: int, num_classes: int, width: float = 1.0) -> nn.Sequential:
    """GoogLeNet's auxiliary classifier: average-pool to 4x4, a 1x1 convolution to 128
    channels, a 1024-unit hidden layer with dropout 0.7, a linear output.

    >>> inception_aux(512, 10)(torch.zeros(2, 512, 14, 14)).shape
    torch.Size([2, 10])
    """
    c_in = _whole(c_in, "c_in", "channels in")
    num_classes, _, width = _check(num_classes, 1, width)
    c, hidden = _ch(128, width), _ch(1024, width)
    return nn.Sequential(nn.AdaptiveAvgPool2d(4), conv_bn_act(c_in, c, 1, eps=1e-3),
                         nn.Flatten(), nn.Linear(c * 16, hidden), nn.ReLU(),
                         nn.Dropout(0.7), nn.Linear(hidden, num_classes))


class WithAuxHeads(nn.Module):
    """A zoo model (``features`` then ``head``) with auxiliary classifiers on some of
    the body's outputs (at most two, keyed by the index of the layer they follow). In
    training mode it returns ``AuxOutputs(logits, aux1, aux2)``, in eval mode (or
    without auxiliary heads) only the logits: the auxiliary heads serve training alone.

    >>> model = googlenet(num_classes=10, width=0.125, small=True, aux=True)
    >>> [tuple(out.shape) for out in model(torch.zeros(2, 3, 8, 8))]
    [(2, 10), (2, 10), (2, 10)]
    >>> model.eval()(torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 10])
    """

    def __init__(self, features: nn.Sequential, head: nn.Sequential,
                 aux: dict[int, nn.Module]) -> None:
        super().__init__()
        if len(aux) > 2 or not all(0 <= i < len(features) for i in aux):
            raise ValueError(f"at most two auxiliary heads, each after a layer of "
                             f"features (0 to {len(features) - 1}); got them after "
                             f"{list(aux)}")
        self.features, self.head = features, head
        self.aux = nn.ModuleDict({str(i): module for i, module in aux.items()})

    def forward(self, x: torch.Tensor) -> torch.Tensor | AuxOutputs:
        aux_logits = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if self.training and str(i) in self.aux:
                aux_logits.append(self.aux[str(i)](x))
        logits = self.head(x)
        return AuxOutputs(logits, *aux_logits) if aux_logits else logits


def googlenet(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
              small: bool = False, five_by_five: bool = False, aux: bool = False
              ) -> nn.Module:
    """GoogLeNet / Inception v1 (Szegedy et al., 2015) as in torchvision, which adds
    batch norm (Ioffe and Szegedy, 2015, published after GoogLeNet) after every
    convolution. Like torchvision, the "5x5" branch uses a 3x3 kernel (a bug kept there
    for its pretrained weights); ``five_by_five=True`` uses the paper's 5x5.
    ``aux=True`` adds the two auxiliary classifiers (after modules 4a and 4d) that the
    paper trained with, returning a ``WithAuxHeads`` model (13,004,888 parameters at
    full size, as torchvision's ``aux_logits=True``); without them 6,624,904.

    >>> googlenet(num_classes=10, width=0.125, small=True)(
    ...     torch.zeros(1, 3, 8, 8)).shape
    torch.Size([1, 10])
    """
    num_classes, in_channels, width = _check(num_classes, in_channels, width, small)
    _flag(five_by_five, "five_by_five"), _flag(aux, "aux")

    def w(c: int) -> int:
        return _ch(c, width)

    def pool(k: int = 3) -> nn.Module:
        return nn.MaxPool2d(k, stride=2, ceil_mode=True)

    def block(a: int, b: int, k: int, s: int = 1) -> nn.Sequential:
        return conv_bn_act(a, b, k, s, eps=1e-3)

    if small:
        stem = [block(in_channels, w(64), 3), block(w(64), w(64), 1),
                block(w(64), w(192), 3)]
    else:
        stem = [block(in_channels, w(64), 7, 2), pool(), block(w(64), w(64), 1),
                block(w(64), w(192), 3), pool()]
    modules: list[nn.Module] = []
    for i, spec in enumerate(GOOGLENET_MODULES):
        if spec == "M":
            modules.append(pool(3 if i == 2 else 2))
        else:
            k5 = 5 if five_by_five else 3
            modules.append(Inception(*[w(c) for c in spec], k5=k5))
    head = _pool_head(w(1024), num_classes, dropout=0.2)
    if not aux:
        return _model(stem + modules, head)
    taps = {len(stem) + i: inception_aux(w(GOOGLENET_MODULES[i + 1][0]), num_classes,
                                         width)
            for i in GOOGLENET_AUX_AFTER}  # module i + 1 takes module i's output
    body = nn.Sequential(*stem, *modules)
    return _init(WithAuxHeads(body, nn.Sequential(*head), taps))


# ----------------------------------------------------------------------- ResNet (2015)


def _resnet(block: type[BasicBlock], layers: tuple[int, int, int, int],
            num_classes: int, in_channels: int, width: float, small: bool
            ) -> nn.Sequential:
    """Stem, four stages of residual blocks (64, 128, 256, 512 channels; stride 2 from
    the second), global average pooling and one linear layer."""
    num_classes, in_channels, width = _check(num_classes, in_channels, width, small)
    c = _ch(64, width)
    if small:
        stages = OrderedDict(stem=conv_bn_act(in_channels, c, 3))
    else:
        stages = OrderedDict(stem=nn.Sequential(conv_bn_act(in_channels, c, 7, 2),
                                                nn.MaxPool2d(3, 2, padding=1)))
    c_in = c
    for i, (n, channels) in enumerate(zip(layers, (64, 128, 256, 512))):
        blocks = []
        for j in range(n):
            stride = 2 if (i > 0 and j == 0) else 1
            blocks.append(block(c_in, _ch(channels, width), stride=stride))
            c_in = _ch(channels, width) * block.expansion
        stages[f"layer{i + 1}"] = nn.Sequential(*blocks)
    return _model(stages, _pool_head(c_in, num_classes))


def resnet18(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
             small: bool = False) -> nn.Sequential:
    """ResNet-18 (He et al., 2015): basic blocks, 2-2-2-2.

    >>> resnet18(num_classes=10, in_channels=1, width=0.25, small=True)(
    ...     torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """
    return _resnet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels, width, small)


def resnet34(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
             small: bool = False) -> nn.Sequential:
    """ResNet-34: basic blocks, 3-4-6-3.

    >>> resnet34(num_classes=10, width=0.25, small=True)(torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 10])
    """
    return _resnet(BasicBlock, (3, 4, 6, 3), num_classes, in_channels, width, small)


def resnet50(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
             small: bool = False) -> nn.Sequential:
    """ResNet-50: bottleneck blocks, 3-4-6-3 (stride on the 3x3, as in torchvision).

    >>> resnet50(num_classes=10, width=0.25, small=True)(torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 10])
    """
    return _resnet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, width, small)


def resnet101(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
              small: bool = False) -> nn.Sequential:
    """ResNet-101: bottleneck blocks, 3-4-23-3.

    >>> resnet101(num_classes=10, width=0.25, small=True)(torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 10])
    """
    return _resnet(Bottleneck, (3, 4, 23, 3), num_classes, in_channels, width, small)


def resnet152(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
              small: bool = False) -> nn.Sequential:
    """ResNet-152: bottleneck blocks, 3-8-36-3.

    >>> resnet152(num_classes=10, width=0.25, small=True)(torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 10])
    """
    return _resnet(Bottleneck, (3, 8, 36, 3), num_classes, in_channels, width, small)


# --------------------------------------------------------------------- DenseNet (2017)


def densenet121(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
                small: bool = False) -> nn.Sequential:
    """DenseNet-121 (Huang et al., 2017; DenseNet-BC): growth rate 32, blocks of
    6-12-24-16 dense layers, transitions (batch norm, ReLU, 1x1 halving the channels,
    2x2 average pool) between.

    >>> densenet121(num_classes=10, width=0.25, small=True)(
    ...     torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 10])
    """
    num_classes, in_channels, width = _check(num_classes, in_channels, width, small)
    growth, c = _ch(32, width), _ch(64, width)
    if small:
        features: list[nn.Module] = [conv_bn_act(in_channels, c, 3)]
    else:
        features = [conv_bn_act(in_channels, c, 7, 2), nn.MaxPool2d(3, 2, padding=1)]
    for i, layers in enumerate((6, 12, 24, 16)):
        features.append(dense_block(c, layers, growth))
        c += layers * growth
        if i < 3:
            features.append(nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(),
                                          nn.Conv2d(c, c // 2, 1, bias=False),
                                          nn.AvgPool2d(2)))
            c //= 2
    features += [nn.BatchNorm2d(c), nn.ReLU()]
    return _model(features, _pool_head(c, num_classes))


# --------------------------------------------------------------------- Xception (2017)


def xception(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
             small: bool = False) -> nn.Sequential:
    """Xception (Chollet, 2017) for 299x299 inputs: entry flow (two convolutions, three
    strided blocks), middle flow (eight blocks of three separable convolutions), exit
    flow. Every block is residual; every spatial filter is depthwise-separable.
    22,855,952 parameters.

    >>> xception(num_classes=10, width=0.125, small=True)(torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 10])
    """
    num_classes, in_channels, width = _check(num_classes, in_channels, width, small)

    def w(c: int) -> int:
        return _ch(c, width)

    def conv(a: int, b: int, stride: int, pad: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(a, b, 3, stride, pad, bias=False),
                             nn.BatchNorm2d(b), nn.ReLU())

    k_stride, pad = (1, 1) if small else (2, 0)
    features: list[nn.Module] = [
        conv(in_channels, w(32), k_stride, pad), conv(w(32), w(64), 1, pad),
        XceptionBlock(w(64), w(128), 2, stride=2, first_relu=False),
        XceptionBlock(w(128), w(256), 2, stride=2),
        XceptionBlock(w(256), w(728), 2, stride=2),
        *[XceptionBlock(w(728), w(728), 3) for _ in range(8)],
        XceptionBlock(w(728), w(1024), 2, stride=2, grow_first=False),
        separable_conv(w(1024), w(1536)), nn.BatchNorm2d(w(1536)), nn.ReLU(),
        separable_conv(w(1536), w(2048)), nn.BatchNorm2d(w(2048)), nn.ReLU(),
    ]
    return _model(features, _pool_head(w(2048), num_classes))


# ------------------------------------------------------------------ MobileNetV1 (2017)

# (channels, stride) of the 13 depthwise-separable layers (Howard et al., 2017, table 1)
MOBILENET_V1_LAYERS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                       *[(512, 1)] * 5, (1024, 2), (1024, 1)]


def mobilenet_v1(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
                 small: bool = False) -> nn.Sequential:
    """MobileNetV1 (Howard et al., 2017): a stride-2 3x3 convolution, then 13
    depthwise-separable layers (a 3x3 depthwise convolution and a 1x1 pointwise one,
    each with batch norm and ReLU), global average pooling and one linear layer.
    4,231,976 parameters at width 1.0 (the trainable count of the Keras reference; batch
    norm's running statistics are buffers). ``width`` is the paper's width multiplier
    alpha. ``small=True`` drops the stride of the stem and of the first strided layer.

    >>> mobilenet_v1(num_classes=10, width=0.25, small=True)(
    ...     torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 10])
    """
    num_classes, in_channels, width = _check(num_classes, in_channels, width, small)
    c_in = _ch(32, width)
    features: list[nn.Module] = [conv_bn_act(in_channels, c_in, 3, 1 if small else 2)]
    for i, (channels, stride) in enumerate(MOBILENET_V1_LAYERS):
        stride = 1 if (small and i == 1) else stride
        c_out = _ch(channels, width)
        features.append(nn.Sequential(conv_bn_act(c_in, c_in, 3, stride, groups=c_in),
                                      conv_bn_act(c_in, c_out, 1)))
        c_in = c_out
    return _model(features, _pool_head(c_in, num_classes))


# ------------------------------------------------------------------ MobileNetV2 (2018)

# expansion t, channels c, repeats n, first stride s of each stage (Sandler et al.,
# table 2)
MOBILENET_V2_STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def _divisible8(channels: float) -> int:
    """Round to a multiple of 8, never more than 10% down (MobileNet's, and
    torchvision's, rule)."""
    rounded = max(8, int(channels + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * channels else rounded


def mobilenet_v2(num_classes: int = 1000, in_channels: int = 3, *, width: float = 1.0,
                 small: bool = False) -> nn.Sequential:
    """MobileNetV2 (Sandler et al., 2018): a stride-2 3x3 stem, 17 inverted residual
    blocks, a 1x1 to 1280 channels. Channels are rounded to multiples of 8 as in
    torchvision's ``width_mult``. ``small=True`` drops the stem's and the second stage's
    stride (8x8 in, 1x1 at the end).

    >>> mobilenet_v2(num_classes=10, width=0.25, small=True)(
    ...     torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 10])
    """
    num_classes, in_channels, width = _check(num_classes, in_channels, width, small)
    c_in = _divisible8(32 * width)
    features: list[nn.Module] = [conv_bn_act(in_channels, c_in, 3, 1 if small else 2,
                                             act=nn.ReLU6)]
    for i, (t, c, n, s) in enumerate(MOBILENET_V2_STAGES):
        c_out = _divisible8(c * width)
        for j in range(n):
            stride = 1 if j > 0 or (small and i == 1) else s
            features.append(InvertedResidual(c_in, c_out, stride, t))
            c_in = c_out
    last = _divisible8(1280 * max(1.0, width))
    features.append(conv_bn_act(c_in, last, 1, act=nn.ReLU6))
    return _model(features, _pool_head(last, num_classes, dropout=0.2))


# ---------------------------------------------------------------------------- registry

BUILDERS: dict[str, Callable[..., nn.Module]] = {
    f.__name__: f for f in (lenet5, alexnet, zfnet, vgg11, vgg16, vgg19, googlenet,
                            resnet18, resnet34, resnet50, resnet101, resnet152,
                            densenet121, xception, mobilenet_v1, mobilenet_v2)
}
# The input side each model was designed for at full size.
INPUT_SIZE = {name: 32 if name == "lenet5" else 299 if name == "xception" else 224
              for name in BUILDERS}


def build(name: str, **kwargs: Any) -> nn.Module:
    """Build a zoo model by name (any case: ``"ResNet18"`` is ``"resnet18"``), e.g. from
    a loop over ``BUILDERS``; the keyword arguments go to the builder.

    >>> model = build("resnet18", num_classes=10, in_channels=1, width=0.25, small=True)
    >>> [name for name, _ in model.named_children()]
    ['features', 'head']
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string such as 'resnet18', got {name!r}")
    key = name.lower()
    if key not in BUILDERS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(BUILDERS)}")
    return BUILDERS[key](**kwargs)
