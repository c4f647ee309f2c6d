import pytest
import torch

from utils import zoo


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def conv_params(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_out * (c_in * k * k + bias)


def test_lenet5_classic_count_and_shape():
    # LeNet-5 with full C3 connections and a linear output layer, counted layer by layer.
    expected = conv_params(1, 6, 5) + conv_params(6, 16, 5) + conv_params(400, 120, 1) \
        + conv_params(120, 84, 1) + conv_params(84, 10, 1)
    model = zoo.lenet5()
    assert count(model) == expected == 61_706
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)


def test_lenet5_small_takes_8x8_digits():
    model = zoo.lenet5(num_classes=10, in_channels=1, small=True)
    assert model(torch.zeros(3, 1, 8, 8)).shape == (3, 10)
    assert zoo.lenet5(num_classes=5, in_channels=3, small=True, width=0.5)(torch.zeros(1, 3, 8, 8)).shape == (1, 5)


def test_lenet5_wrong_input_size_fails():
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        zoo.lenet5()(torch.zeros(1, 1, 8, 8))  # 8x8 digits need small=True
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        zoo.lenet5(small=True)(torch.zeros(1, 1, 32, 32))  # 32x32 needs the classic stem


@pytest.mark.parametrize("kwargs, match", [
    ({"num_classes": 0}, "num_classes must be a positive int"),
    ({"in_channels": 0}, "in_channels must be a positive int"),
    ({"width": 0}, "width is a channel multiplier"),
])
def test_bad_arguments_are_explained(kwargs, match):
    with pytest.raises(ValueError, match=match):
        zoo.lenet5(**kwargs)
